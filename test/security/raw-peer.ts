/**
 * A hand-driven peer for security tests: a registered identity behind a raw UDP socket that does
 * the key exchange itself and seals PILS frames with counters of its choosing, so a test can send a
 * live node exact copies, reorderings and old frames. It speaks the real wire format; nothing in the
 * node under test is stubbed.
 */
import dgram from 'node:dgram';
import { parseAddress, type Address } from '../../shared/address';
import { Identity, TunnelCipher, deriveTunnelKey, getCrypto, signPila, verifyPila } from '../../main/crypto';
import { RegistryClient } from '../../main/node/registry-client';
import { FLAG_ACK, PROTO_CONTROL, decodePacket, encodePacket } from '../../main/wire/packet';
import { classifyDatagram, decodePILA, decodePILS, encodePILA, encodePILS } from '../../main/wire/tunnel';

export interface Endpoint {
  host: string;
  port: number;
}

export class RawPeer {
  readonly identity = Identity.generate();
  readonly backend = getCrypto();
  x25519 = this.backend.x25519Generate();
  nodeId = 0;
  address: Address | undefined;
  key: Uint8Array | undefined;
  /** Every PILA frame received (raw bytes), and decrypted control-ping replies by sequence number. */
  readonly pilas: Uint8Array[] = [];
  readonly pingReplies = new Set<number>();
  private readonly sock = dgram.createSocket('udp4');
  private registry: RegistryClient | undefined;
  private receiveCipher: TunnelCipher | undefined;

  async start(registry: string): Promise<void> {
    await new Promise<void>((r) => this.sock.bind(0, '127.0.0.1', () => r()));
    this.sock.on('message', (m: Buffer) => this.onMessage(new Uint8Array(m)));
    this.registry = new RegistryClient({ address: registry, identity: this.identity });
    const reg = await this.registry.register({ listenAddr: `127.0.0.1:${this.sock.address().port}` });
    this.nodeId = reg.node_id;
    this.address = parseAddress(reg.address);
  }

  /** The local UDP port (the endpoint the node should send to). */
  get port(): number {
    return this.sock.address().port;
  }

  close(): void {
    this.registry?.close();
    this.sock.close();
  }

  send(frame: Uint8Array, to: Endpoint): Promise<void> {
    return new Promise<void>((r) => this.sock.send(frame, to.port, to.host, () => r()));
  }

  /** Our signed key exchange for the current X25519 key pair. */
  pilaFrame(): Uint8Array {
    return encodePILA({
      sender: this.nodeId,
      x25519Public: this.x25519.publicKey,
      ed25519Public: this.identity.publicKey,
      signature: signPila(this.identity, this.nodeId, this.x25519.publicKey),
    });
  }

  /**
   * Derives the tunnel key from a PILA frame of `peerKey`'s node (checked like a node checks it) and
   * returns a sealing cipher whose first counter is `firstCounter`.
   */
  keyFrom(pila: Uint8Array, peerId: number, peerKey: Uint8Array): void {
    const f = decodePILA(pila);
    if (f.sender !== peerId || !verifyPila(this.backend, peerKey, peerId, f.x25519Public, f.signature)) throw new Error('bad PILA from the node');
    this.key = deriveTunnelKey(this.backend, this.backend.x25519(this.x25519.privateKey, f.x25519Public));
    this.receiveCipher = new TunnelCipher(this.backend, this.key);
  }

  /** The nonce prefix of this peer's current cipher state (a reference peer picks a new one per re-derivation). */
  prefix: Uint8Array = this.backend.randomBytes(4);

  /** A sealer under the current prefix (or `prefix`), whose first frame carries `firstCounter`. */
  sealer(firstCounter: number, prefix: Uint8Array = this.prefix): TunnelCipher {
    if (!this.key) throw new Error('no key yet');
    return new TunnelCipher(this.backend, this.key, { firstCounter, prefix });
  }

  /** A PILS frame carrying a control ping with sequence `seq`, sealed by `cipher` (its next counter). */
  pingFrame(cipher: TunnelCipher, to: Address, seq: number): Uint8Array {
    const packet = encodePacket({ flags: 0, protocol: PROTO_CONTROL, src: this.address!, dst: to, srcPort: 7777, dstPort: 0, seq, ack: 0, window: 0, payload: new Uint8Array(0) });
    const { nonce, sealed } = cipher.seal(packet);
    return encodePILS(this.nodeId, nonce, sealed);
  }

  /** PILS frames that arrived while we had no key for them (a reference peer says nothing back). */
  undecryptable = 0;
  /** PILS frames from the node that we opened. */
  opened = 0;

  /** Drops the session as a reference daemon does after `untrust`: its own X25519 key stays. */
  forgetSession(): void {
    this.key = undefined;
    this.receiveCipher = undefined;
  }

  private onMessage(m: Uint8Array): void {
    const kind = classifyDatagram(m);
    if (kind === 'PILA') {
      this.pilas.push(m);
      return;
    }
    if (kind === 'PILS' && !this.receiveCipher) this.undecryptable++;
    if (kind !== 'PILS' || !this.receiveCipher) return;
    try {
      const f = decodePILS(m);
      const pkt = decodePacket(this.receiveCipher.open(f.nonce, f.sealed));
      this.opened++;
      if (pkt.protocol === PROTO_CONTROL && (pkt.flags & FLAG_ACK) !== 0) this.pingReplies.add(pkt.seq);
    } catch {
      // not for this test
    }
  }
}
