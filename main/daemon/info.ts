/**
 * The daemon's Info JSON (cli.md §2.1): exactly the reference's keys, emitted sorted.
 */
import { formatAddress } from '../../shared/address';
import type { PilotNode } from '../node/node';

export interface InfoPeer {
  authenticated: boolean;
  encrypted: boolean;
  endpoint: string;
  node_id: number;
}

export interface InfoConn {
  bytes_recv: number;
  bytes_sent: number;
  cong_win: number;
  dup_acks: number;
  fast_retx: number;
  id: number;
  in_flight: number;
  in_recovery: boolean;
  local_port: number;
  /** Extension: segments deemed lost (each time one was), for reading how loss was repaired. */
  lost_segs?: number;
  ooo_buf: number;
  peer_recv_win: number;
  recv_win: number;
  remote_addr: string;
  remote_port: number;
  retransmits: number;
  rttvar_ms: number;
  sack_recv: number;
  sack_sent: number;
  segs_recv: number;
  segs_sent: number;
  srtt_ms: number;
  ssthresh: number;
  state: string;
  /** Extension: retransmission timeouts. */
  timeouts?: number;
  /** Extension: tail loss probes sent. */
  tlp_probes?: number;
  unacked: number;
}

export interface InfoJson {
  address: string;
  authenticated_peers: number;
  bytes_recv: number;
  bytes_sent: number;
  conn_list: InfoConn[];
  connections: number;
  encrypt: boolean;
  encrypted_peers: number;
  hostname: string;
  identity: boolean;
  node_id: number;
  owner: string;
  peer_list: InfoPeer[];
  peers: number;
  pkts_recv: number;
  pkts_sent: number;
  ports: number;
  public_key: string;
  uptime_secs: number;
  /**
   * Extension, present only when the node was given several backbone addresses: the registry and
   * beacon in use, and how often the node moved to another one.
   */
  registry?: string;
  beacon?: string;
  registry_failovers?: number;
  beacon_failovers?: number;
}

const LIVE = new Set(['ESTABLISHED', 'SYN_SENT', 'SYN_RECV']);

export function buildInfo(node: PilotNode, o: { identityConfigured: boolean; owner: string }): InfoJson {
  const peers = node.tunnels.listPeers();
  const conns = [...node.connectionTable.connections()];
  const t = node.tunnels.totals;
  const info: InfoJson = {
    address: formatAddress(node.address),
    authenticated_peers: peers.filter((p) => p.authenticated).length,
    bytes_recv: t.bytesRecv,
    bytes_sent: t.bytesSent,
    conn_list: conns.map((c): InfoConn => {
      const s = c.stats();
      return {
        bytes_recv: s.bytesRecv,
        bytes_sent: s.bytesSent,
        cong_win: s.cwnd,
        dup_acks: s.dupAcks,
        fast_retx: s.fastRetx,
        id: c.id,
        in_flight: s.inFlight,
        in_recovery: s.inRecovery,
        local_port: c.localPort,
        lost_segs: s.lostMarked,
        ooo_buf: s.oooBuf,
        peer_recv_win: s.peerRecvWin,
        recv_win: s.recvWin,
        remote_addr: formatAddress(c.remoteAddr),
        remote_port: c.remotePort,
        retransmits: s.retransmits,
        rttvar_ms: Math.floor(s.rttvarMs),
        sack_recv: s.sackRecv,
        sack_sent: s.sackSent,
        segs_recv: s.segsRecv,
        segs_sent: s.segsSent,
        srtt_ms: Math.floor(s.srttMs),
        ssthresh: s.ssthresh,
        state: s.state,
        timeouts: s.timeouts,
        tlp_probes: s.tlpProbes,
        unacked: s.unacked,
      };
    }),
    connections: conns.filter((c) => LIVE.has(c.stats().state)).length,
    encrypt: node.tunnels.encrypted,
    encrypted_peers: peers.filter((p) => p.encrypted).length,
    hostname: node.hostname,
    identity: o.identityConfigured,
    node_id: node.nodeId,
    owner: o.owner,
    peer_list: peers.map((p) => ({ authenticated: p.authenticated, encrypted: p.encrypted, endpoint: p.endpoint ?? '', node_id: p.nodeId })),
    peers: peers.length,
    pkts_recv: t.pktsRecv,
    pkts_sent: t.pktsSent,
    ports: node.boundPorts().length,
    public_key: node.identity.publicKeyBase64,
    uptime_secs: Math.floor((node.clock.wallNow() - node.startedAt) / 1000),
  };
  if (node.registryAddresses.length < 2 && node.beaconAddresses.length < 2) return info;
  const f = node.backboneFailovers;
  const withBackbones: InfoJson = { ...info, registry: node.registryAddress, beacon: node.beaconAddress, registry_failovers: f.registry, beacon_failovers: f.beacon };
  return Object.fromEntries(Object.entries(withBackbones).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) as unknown as InfoJson;
}
