/**
 * A second UDP port next to the beacon that only answers Discover (0x01) with DiscoverReply: a node
 * probing both the beacon and this port from one socket learns whether its NAT maps the socket to
 * the same public port for different destinations (endpoint-independent mapping: hole punching can
 * work) or not (endpoint-dependent, "symmetric": expect the relay). Like a second STUN server.
 */
import dgram from 'node:dgram';
import { decodeBeacon, encodeBeacon } from '../wire/beacon';
import type { Logger } from '../util/log';

export interface NetcheckReflector {
  address(): { host: string; port: number };
  readonly answered: number;
  close(): Promise<void>;
}

export async function startNetcheckReflector(host: string, port: number, log: Logger): Promise<NetcheckReflector> {
  const sock = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, host, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  let answered = 0;
  sock.on('error', (e) => log.warn('netcheck socket error', { err: e.message }));
  sock.on('message', (msg, rinfo) => {
    try {
      const m = decodeBeacon(msg);
      if (m.type !== 'discover') return;
      answered++;
      sock.send(encodeBeacon({ type: 'discover_reply', ip: rinfo.address, port: rinfo.port }), rinfo.port, rinfo.address);
    } catch {
      // Malformed probes are ignored: this port only ever answers discovers.
    }
  });
  const a = sock.address();
  log.info('netcheck reflector listening', { host: a.address, port: a.port });
  return {
    address: () => ({ host: sock.address().address, port: sock.address().port }),
    get answered() {
      return answered;
    },
    close: () => new Promise((resolve) => sock.close(() => resolve())),
  };
}
