/**
 * What the fleet driver (fleet-run.ts) and its worker processes (fleet-worker.ts) share: the IPC
 * messages, each node's role and tags, and the percentile summary the workers report.
 */

/** Capability tags: every node has one skill; coordinators seek nodes by skill. */
export const SKILLS = ['summarize', 'translate', 'classify', 'search', 'vision'] as const;

export interface NodeSpec {
  hostname: string;
  tags: string[];
  coordinator: boolean;
  /** The tag a coordinator looks for. */
  seeks: string;
}

/** Node `index` of a fleet of `nodes`: the first `coordinators` indexes coordinate. */
export function nodeSpec(index: number, nodes: number, coordinators: number, prefix: string): NodeSpec {
  const coordinator = index < coordinators;
  const skill = SKILLS[index % SKILLS.length]!;
  return {
    hostname: `${prefix}-${String(index).padStart(String(nodes - 1).length, '0')}`,
    tags: coordinator ? ['fleet', 'coordinator'] : ['fleet', skill, `rack-${index % 10}`],
    coordinator,
    seeks: SKILLS[index % SKILLS.length]!,
  };
}

export type FleetRequest =
  | {
      op: 'start';
      registry: string;
      beacon: string;
      first: number;
      count: number;
      nodes: number;
      coordinators: number;
      prefix: string;
      heartbeatMs: number;
      dir: string;
      concurrency: number;
    }
  | { op: 'create-groups'; names: string[] }
  | { op: 'join'; groupIds: number[]; creatorId: number }
  | { op: 'leave'; groupIds: number[]; every: number }
  | { op: 'lookups'; perNode: number; nodeIds: number[] }
  | { op: 'tasks'; perCoordinator: number; waitMs: number }
  | { op: 'stats'; reset?: boolean }
  | { op: 'stop' };

export type FleetReply = { id: number; ok: true; data: unknown } | { id: number; ok: false; error: string };

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  /** The sorted sample (the driver merges the workers' samples). */
  sample: number[];
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function percentileSummary(xs: number[]): Summary {
  const sample = [...xs].sort((a, b) => a - b);
  return { n: sample.length, p50: percentile(sample, 50), p99: percentile(sample, 99), sample };
}

export interface WorkerStats {
  nodes: number;
  rssBefore: number;
  rss: number;
  heapBefore: number;
  heapUsed: number;
  latencies: Record<string, Summary>;
  errors: Record<string, number>;
  tasksServed: number;
}

export interface TaskOutcome {
  found: number;
  pinged: number;
  pingFailed: number;
  submitted: number;
  accepted: number;
  completed: number;
  failed: number;
}
