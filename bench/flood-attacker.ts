/**
 * The attacker of bench/flood.ts, in its own process: a registered node (real identity, so it can
 * sign its frames) that floods one victim with a mix of invalid and valid traffic until killed.
 * Usage: tsx bench/flood-attacker.ts <registry> <beacon> <victimNodeId>
 * Prints one JSON line when flooding starts, and on SIGINT a line with what it sent.
 */
import dgram from 'node:dgram';
import { Identity, signPila } from '../main/crypto';
import { PilotNode } from '../main/node/node';
import { encodePILA, encodePILS } from '../main/wire/tunnel';
import { backboneAddress } from '../shared/address';
import { mulberry32 } from '../main/util/random';

const [registry, beacon, victimText, modeText] = process.argv.slice(2);
/** invalid: garbage, signed low-order exchanges, bad tags; valid: pings and a stream; both (default). */
const mode = modeText ?? 'both';
const invalid = mode !== 'valid';
const valid = mode !== 'invalid';
const victimId = Number(victimText);
const node = new PilotNode({ identity: Identity.generate(), registry: registry!, beacon: beacon!, public: true, listen: '127.0.0.1:0' });
await node.start();
const { real_addr } = await node.registry.resolve(victimId);
const host = real_addr.slice(0, real_addr.lastIndexOf(':'));
const port = Number(real_addr.slice(real_addr.lastIndexOf(':') + 1));
await node.controlPing(victimId); // a real tunnel: valid traffic can flow too

const sock = dgram.createSocket({ type: 'udp4', sendBufferSize: 4 << 20 });
await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
const rnd = mulberry32(7);
const lowOrder = new Uint8Array(32);
const signedBadKx = encodePILA({ sender: node.nodeId, x25519Public: lowOrder, ed25519Public: node.identity.publicKey, signature: signPila(node.identity, node.nodeId, lowOrder) });
const sent = { garbage: 0, badKx: 0, badTag: 0, pings: 0, streamBytes: 0 };

// Valid traffic: one stream writing as fast as the victim takes it (to the sink on port 5000).
const stream = valid ? await node.dial(backboneAddress(victimId), 5000) : undefined;
const chunk = new Uint8Array(64 * 1024);
let running = true;
(async () => {
  while (running && stream) {
    if (!stream.write(chunk.slice())) await stream.waitDrain();
    sent.streamBytes += chunk.length;
  }
})().catch(() => undefined);

const flood = (): void => {
  if (!running) return;
  for (let i = 0; i < 64; i++) {
    const k = i % 4;
    if ((k < 3 && !invalid) || (k === 3 && !valid)) continue;
    if (k === 0) {
      const b = new Uint8Array(1 + Math.floor(rnd() * 300));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(rnd() * 256);
      sock.send(b, port, host);
      sent.garbage++;
    } else if (k === 1) {
      sock.send(signedBadKx, port, host);
      sent.badKx++;
    } else if (k === 2) {
      sock.send(encodePILS(node.nodeId, new Uint8Array(12).map(() => rnd() * 256), new Uint8Array(64)), port, host);
      sent.badTag++;
    } else {
      node.controlPing(victimId, 1000).catch(() => undefined); // valid pings, not awaited
      sent.pings++;
    }
  }
  setImmediate(flood);
};
process.stdout.write(JSON.stringify({ flooding: true, nodeId: node.nodeId }) + '\n');
flood();
process.on('SIGINT', () => {
  running = false;
  process.stdout.write(JSON.stringify(sent) + '\n');
  process.exit(0);
});
