import type { FleetMatrixView, FleetMemberView, FleetPairView, FleetPath } from '../../../../shared/contract';
import type { RootState } from '../root';
import type { FleetState } from './state';

export const selectFleet = (s: RootState): FleetState => s.fleet;

/** A member's name for the matrix: its hostname, else its address. */
export const memberName = (m: FleetMemberView | undefined, id: number): string => m?.hostname || m?.address || `node ${id}`;

export interface PairRow extends FleetPairView {
  nameA: string;
  nameB: string;
}

const PATH_ORDER: Record<FleetPath, number> = { relay: 0, punched: 1, pending: 2, local: 3, direct: 4, none: 5, unknown: 6 };

/** The pairs as table rows, filtered by text (either end's name) and path; relayed pairs first, then by names. */
export function pairRows(m: FleetMatrixView | undefined, filter: { text: string; path: FleetPath | 'all' } = { text: '', path: 'all' }): PairRow[] {
  if (!m) return [];
  const byId = new Map(m.members.map((x) => [x.nodeId, x]));
  const text = filter.text.trim().toLowerCase();
  const rows: PairRow[] = [];
  for (const p of m.pairs) {
    if (filter.path !== 'all' && p.path !== filter.path) continue;
    const nameA = memberName(byId.get(p.a), p.a);
    const nameB = memberName(byId.get(p.b), p.b);
    if (text && !nameA.toLowerCase().includes(text) && !nameB.toLowerCase().includes(text)) continue;
    rows.push({ ...p, nameA, nameB });
  }
  return rows.sort((x, y) => PATH_ORDER[x.path] - PATH_ORDER[y.path] || x.nameA.localeCompare(y.nameA) || x.nameB.localeCompare(y.nameB));
}

/** The grid: path of (row, column) for every two members (undefined on the diagonal). */
export function gridOf(m: FleetMatrixView | undefined): { members: FleetMemberView[]; cell: (a: number, b: number) => FleetPairView | undefined } {
  if (!m) return { members: [], cell: () => undefined };
  const pairs = new Map(m.pairs.map((p) => [`${p.a}-${p.b}`, p]));
  return { members: m.members, cell: (a, b) => (a === b ? undefined : pairs.get(a < b ? `${a}-${b}` : `${b}-${a}`)) };
}

/** "3 min" style: how long a pair has been on its path, from its wall-clock start. */
export function forText(sinceMs: number | undefined, now: number): string {
  if (sinceMs === undefined) return '—';
  const s = Math.max(0, Math.round((now - sinceMs) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export const pct = (x: number): string => `${Math.round(x * 100)}%`;
