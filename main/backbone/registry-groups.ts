/**
 * Registry handlers for networks ("groups", registry.md §2.6, working as a compatible extension)
 * and the pushed-event subscription: list_networks, list_nodes, create_network, join_network,
 * leave_network, subscribe_events. Membership changes are pushed to the group's members.
 */
import { networkNameProblem, nodeAddress, rfc3339, type NetworkMember, type NetworkSummary } from '../wire/registry';
import { challenge } from './protocol';
import { fail, type Handlers, type NetworkEntry } from './registry-model';

export const groupHandlers = {
  list_networks: (m, _req, ctx) => {
    let online = 0;
    for (const n of m.nodes.values()) if (m.online(n, ctx.now)) online++;
    const networks: NetworkSummary[] = [{ id: 0, name: 'backbone', members: m.nodes.size, online, join_rule: 'open' }];
    for (const net of [...m.nets.values()].sort((a, b) => a.id - b.id)) {
      let netOnline = 0;
      for (const id of net.members) {
        const n = m.nodes.get(id);
        if (n && m.online(n, ctx.now)) netOnline++;
      }
      networks.push({ id: net.id, name: net.name, members: net.members.size, online: netOnline, join_rule: net.joinRule });
    }
    return { type: 'list_networks_ok', networks };
  },

  list_nodes: (m, req, ctx) => {
    if ((req.network === undefined || req.network === '') && (req.network_id ?? 0) === 0) {
      fail('permission_denied', 'listing the backbone (network 0) is not allowed');
    }
    const net = m.network(req);
    const nodes: NetworkMember[] = [];
    for (const id of [...net.members].sort((a, b) => a - b)) {
      const n = m.nodes.get(id);
      const entry: NetworkMember = { node_id: id, address: nodeAddress(id, net.id), online: false };
      const key = n?.publicKey ?? m.keyOf.get(id);
      if (n) {
        if (n.hostname) entry.hostname = n.hostname;
        if (n.tags.length > 0) entry.tags = [...n.tags];
        entry.last_seen = rfc3339(n.lastSeen);
        entry.online = m.online(n, ctx.now);
        if (n.taskExec) entry.task_exec = true;
        if (n.public && n.realAddr) entry.real_addr = n.realAddr;
      }
      if (key !== undefined) entry.public_key = key;
      nodes.push(entry);
    }
    return { type: 'list_nodes_ok', network_id: net.id, name: net.name, nodes };
  },

  create_network: (m, req, ctx) => {
    if (m.adminToken !== undefined && req.admin_token !== m.adminToken) fail('permission_denied', 'admin token required');
    const n = m.signedNode(req.node_id, challenge.createNetwork(req.node_id), req.signature);
    const problem = networkNameProblem(req.name);
    if (problem) fail('invalid_argument', problem);
    if (m.netByName.has(req.name)) fail('already_exists', `network "${req.name}" already exists`);
    if (req.join_rule === 'token' && req.token === '') fail('invalid_argument', 'join_rule "token" needs a non-empty token');
    if (m.nextNet > 0xffff) fail('unavailable', 'network id space exhausted');
    const id = m.nextNet++;
    m.dCounters = true;
    const net: NetworkEntry = {
      id,
      name: req.name,
      joinRule: req.join_rule,
      token: req.join_rule === 'token' ? req.token : undefined,
      members: new Set([n.id]),
      created: ctx.now,
    };
    m.nets.set(id, net);
    m.netByName.set(net.name, id);
    m.groupsSet(n.id).add(id);
    m.dNets.add(id);
    m.dNodes.add(n.id);
    m.emit([n.id], 'network_created', ctx.now, { network_id: id, name: net.name, node_id: n.id });
    return { type: 'create_network_ok', network_id: id, name: net.name, join_rule: net.joinRule, address: nodeAddress(n.id, id) };
  },

  join_network: (m, req, ctx) => {
    const net = m.network(req);
    const n = m.signedNode(req.node_id, challenge.joinNetwork(req.node_id, net.id), req.signature);
    if (net.members.has(n.id)) fail('already_exists', `node ${n.id} is already a member of "${net.name}"`);
    if (net.joinRule === 'token' && req.token !== net.token) fail('permission_denied', 'wrong or missing join token');
    if (net.joinRule === 'invite') {
      const inviter = req.inviter_id ?? 0;
      if (!net.members.has(inviter)) fail('permission_denied', `inviter ${inviter} is not a member of "${net.name}"`);
    }
    net.members.add(n.id);
    m.groupsSet(n.id).add(net.id);
    m.dNets.add(net.id);
    m.dNodes.add(n.id);
    m.emit(net.members, 'member_joined', ctx.now, { network_id: net.id, name: net.name, node_id: n.id });
    return { type: 'join_network_ok', network_id: net.id, name: net.name, address: nodeAddress(n.id, net.id) };
  },

  leave_network: (m, req, ctx) => {
    const net = m.network(req);
    const n = m.signedNode(req.node_id, challenge.leaveNetwork(req.node_id, net.id), req.signature);
    if (!net.members.has(n.id)) fail('not_found', `node ${n.id} is not a member of "${net.name}"`);
    net.members.delete(n.id);
    m.groupsOf.get(n.id)?.delete(net.id);
    m.dNets.add(net.id);
    m.dNodes.add(n.id);
    m.emit([...net.members, n.id], 'member_left', ctx.now, { network_id: net.id, name: net.name, node_id: n.id, reason: 'left' });
    return { type: 'leave_network_ok', network_id: net.id };
  },

  subscribe_events: (m, req) => {
    m.signedNode(req.node_id, challenge.subscribeEvents(req.node_id), req.signature);
    return { type: 'subscribe_events_ok', node_id: req.node_id };
  },
} satisfies Partial<Handlers>;
