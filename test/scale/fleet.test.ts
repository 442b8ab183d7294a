/**
 * A fleet of 100 real nodes (own identity, UDP socket, registry connection, heartbeats, tunnels,
 * services) in two worker processes against one backbone process, driven by bench/fleet-run.ts:
 * every node becomes findable, groups are joined and left, coordinators find peers by tag, ping
 * them and get every task completed, heartbeats flow. Behaviour only: the timings are bench/fleet.ts's.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { FLEET_DEFAULTS, runFleet, type Fleet } from '../../bench/fleet-run';

const NODES = 100;
const GROUPS = 5;
const COORDINATORS = 3;
const TASKS = 10;
let fleet: Fleet | undefined;

afterAll(async () => {
  await fleet?.stop();
}, 60_000);

describe('a fleet of 100 real nodes in two packed processes', () => {
  it('comes up findable, joins and leaves groups, completes every task, heartbeats', async () => {
    fleet = await runFleet({
      ...FLEET_DEFAULTS,
      nodes: NODES,
      workers: 2,
      coordinators: COORDINATORS,
      tasksPerCoordinator: TASKS,
      groups: GROUPS,
      leaveEvery: 5,
      heartbeatMs: 1000,
      holdMs: 0,
      minHeartbeats: NODES,
      taskWaitMs: 60_000,
    });
    const r = fleet.report;
    // every node registered and findable by tag search and by hostname
    expect(r.foundByTag).toBe(NODES);
    expect(r.resolvedByHostname).toBe(NODES);
    expect(r.backbone.nodes).toBe(NODES);
    expect(r.backbone.online).toBe(NODES);
    // groups: the creator is in all of them, everyone else joins one; every 5th node leaves its group
    expect(r.groups.created).toBe(GROUPS);
    expect(r.groups.joined).toBe(NODES - 1);
    expect(r.groups.membersAfterJoin).toBe(NODES + GROUPS - 1);
    expect(r.groups.left).toBe(NODES / 5);
    expect(r.groups.membersAfterLeave).toBe(NODES + GROUPS - 1 - NODES / 5);
    // tasks: every coordinator found its skill's nodes, pinged them and every task completed
    expect(r.tasks.found).toBeGreaterThan(0);
    expect(r.tasks.submitted).toBe(COORDINATORS * TASKS);
    expect(r.tasks.pinged).toBe(r.tasks.submitted);
    expect(r.tasks.accepted).toBe(r.tasks.submitted);
    expect(r.tasks.completed).toBe(r.tasks.submitted);
    expect(r.tasksServed).toBe(r.tasks.submitted);
    // heartbeats in the steady phase; lookups all answered
    const steady = r.phases.find((p) => p.name === 'steady')!;
    expect(steady.latencies['registry.heartbeat']!.n).toBeGreaterThanOrEqual(NODES);
    expect(r.phases.find((p) => p.name === 'lookups')!.latencies['registry.lookup']!.n).toBe(NODES * FLEET_DEFAULTS.lookupsPerNode);
    expect(r.errors).toEqual({});
  }, 180_000);
});
