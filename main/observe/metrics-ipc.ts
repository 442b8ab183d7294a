/**
 * The daemon's IPC extension method for metrics (`daemon.metrics`, used by `pilotctl metrics`):
 * params `{format?: 'text' | 'json', peers?: number}`, answer `{format:'text', text, endpoint?}` or
 * `{format:'json', address, peers, peers_exported, metrics, endpoint?}`. One IPC frame holds at most
 * 1 MiB, so the per-peer series default to the IPC_DEFAULT_PEERS most recently active peers.
 */
import { PilotError } from '../../shared/errors';
import type { MetricsJson, NodeMetrics } from './metrics';

export const METRICS_METHOD = 'daemon.metrics';
/** Per-peer series in an IPC answer unless asked otherwise (~2.5 KB of text per peer). */
export const IPC_DEFAULT_PEERS = 100;

export interface MetricsRequest {
  format: 'text' | 'json';
  peers: number;
}

export type MetricsReply = ({ format: 'text'; text: string } | ({ format: 'json' } & MetricsJson)) & { endpoint?: string };

export function parseMetricsRequest(params: unknown): MetricsRequest {
  const p = (params && typeof params === 'object' && !Array.isArray(params) ? params : {}) as Record<string, unknown>;
  const format = p['format'] ?? 'text';
  if (format !== 'text' && format !== 'json') throw new PilotError('invalid_argument', `${METRICS_METHOD}: format must be "text" or "json"`);
  const peers = p['peers'] ?? IPC_DEFAULT_PEERS;
  if (typeof peers !== 'number' || !Number.isInteger(peers) || peers < 0 || peers > 100_000) {
    throw new PilotError('invalid_argument', `${METRICS_METHOD}: peers must be a whole number from 0`);
  }
  return { format, peers };
}

/** Answers one `daemon.metrics` request from a node's collector. */
export async function answerMetrics(m: NodeMetrics, params: unknown, endpoint?: string): Promise<MetricsReply> {
  const r = parseMetricsRequest(params);
  const where = endpoint ? { endpoint } : {};
  if (r.format === 'json') return { format: 'json', ...(await m.json({ maxPeers: r.peers })), ...where };
  return { format: 'text', text: await m.text({ maxPeers: r.peers }), ...where };
}
