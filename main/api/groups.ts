/** The groups domain: the registry's networks as groups, our memberships, and broadcast. */
import { backboneAddress, formatAddress, makeAddress } from '../../shared/address';
import type { GroupView, MethodResult } from '../../shared/contract';
import { PilotError } from '../../shared/errors';
import type { PilotNode } from '../node/node';
import { utf8 } from '../util/bytes';
import type { ApiContext, DomainHandlers } from './context';

/** Group names by network id and this node's memberships, as last read from the registry. */
export interface GroupDirectory {
  nameOf(networkId: number): string;
  /** Names of the groups this node belongs to. */
  mine(): string[];
  refresh(): Promise<GroupView[]>;
  byName(name: string): Promise<GroupView>;
  /** Members of our groups are known peers even before any traffic: the fleet view lists them (at most every 5 s). */
  refreshKnownPeers(): Promise<void>;
}

export function createGroupDirectory(node: PilotNode): GroupDirectory {
  const names = new Map<number, string>();
  let mine = new Set<number>();
  let knownRefreshedAt = -Infinity;
  const nameOf = (n: number): string => names.get(n) ?? String(n);
  const refresh = async (): Promise<GroupView[]> => {
    const [nets, me] = await Promise.all([node.registry.listNetworks(), node.registry.lookup(node.nodeId)]);
    mine = new Set(me.networks.filter((n) => n !== 0));
    return nets.networks
      .filter((n) => n.id !== 0)
      .map((n) => {
        names.set(n.id, n.name);
        return { id: n.id, name: n.name, joinRule: n.join_rule, members: n.members, online: n.online, joined: mine.has(n.id) };
      });
  };
  return {
    nameOf,
    mine: () => [...mine].map(nameOf),
    refresh,
    async byName(name) {
      const g = (await refresh()).find((x) => x.name === name);
      if (!g) throw new PilotError('not_found', `no group named "${name}"`, 'list groups with: pilotctl group list');
      return g;
    },
    async refreshKnownPeers() {
      if (node.clock.now() - knownRefreshedAt < 5000) return;
      knownRefreshedAt = node.clock.now();
      try {
        const groups = await refresh();
        for (const g of groups.filter((x) => x.joined)) {
          const r = await node.registry.listNodes(g.id);
          for (const m of r.nodes) {
            if (m.node_id === node.nodeId) continue;
            const rec = node.peerRecord(m.node_id);
            if (m.hostname) rec.hostname = m.hostname;
            if (m.tags) rec.tags = m.tags;
            if (!rec.networks.includes(g.id)) rec.networks.push(g.id);
          }
        }
      } catch (e) {
        node.log.debug('could not refresh group members', { error: String(e) });
      }
    },
  };
}

export function groupHandlers({ node, groups }: ApiContext): DomainHandlers<'groups'> {
  return {
    'groups.list': async () => groups.refresh(),
    'groups.create': async ({ name, joinRule, token }) => {
      const opts: { joinRule?: 'open' | 'token' | 'invite'; token?: string } = {};
      if (joinRule) opts.joinRule = joinRule;
      if (token) opts.token = token;
      await node.registry.createNetwork(name, opts);
      return groups.byName(name);
    },
    'groups.join': async ({ name, token, inviter }) => {
      const opts: { token?: string; inviterId?: number } = {};
      if (token) opts.token = token;
      if (inviter) opts.inviterId = inviter;
      await node.registry.joinNetwork(name, opts);
      return groups.byName(name);
    },
    'groups.leave': async ({ name }) => {
      await node.registry.leaveNetwork(name);
      await groups.refresh();
      return { name };
    },
    'groups.members': async ({ name }) => {
      const r = await node.registry.listNodes(name);
      return r.nodes.map((m) => {
        const rec = node.peerRecord(m.node_id);
        if (m.hostname) rec.hostname = m.hostname;
        if (m.tags) rec.tags = m.tags;
        const v: MethodResult<'groups.members'>[number] = { nodeId: m.node_id, address: formatAddress(backboneAddress(m.node_id)), tags: m.tags ?? [], online: m.online };
        if (m.hostname) v.hostname = m.hostname;
        if (m.last_seen) v.lastSeen = m.last_seen;
        return v;
      });
    },
    'groups.broadcast': async ({ name, message, port }) => {
      const r = await node.registry.listNodes(name);
      const members = r.nodes.filter((m) => m.node_id !== node.nodeId);
      const data = utf8(message);
      const results = await Promise.allSettled(members.map((m) => node.sendDatagram(makeAddress(r.network_id, m.node_id), port ?? 1000, data)));
      return { group: name, members: members.length, sent: results.filter((x) => x.status === 'fulfilled').length };
    },
  };
}
