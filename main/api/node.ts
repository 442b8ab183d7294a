/** The node domain: this node's identity, endpoints, counters, netcheck and registry settings. */
import { formatAddress } from '../../shared/address';
import type { NodeInfoView } from '../../shared/contract';
import type { ApiContext, DomainHandlers } from './context';

export function nodeHandlers({ node, groups }: ApiContext): DomainHandlers<'node'> {
  return {
    'node.info': async () => {
      const peers = node.tunnels.listPeers();
      const tunnel = node.tunnelEndpoint;
      const info: NodeInfoView = {
        nodeId: node.nodeId,
        address: formatAddress(node.address),
        hostname: node.hostname,
        tags: node.tags,
        groups: groups.mine(),
        public: node.isPublic,
        uptimeSecs: Math.floor((node.clock.wallNow() - node.startedAt) / 1000),
        encrypt: node.tunnels.encrypted,
        cryptoBackend: node.backend.name,
        publicKey: node.identity.publicKeyBase64,
        fingerprint: node.identity.publicKeyBase64.slice(0, 16),
        tunnelEndpoint: tunnel ? `${tunnel.host}:${tunnel.port}` : '',
        registry: node.registryAddress,
        beacon: node.beaconAddress,
        registryConnected: node.registryConnected,
        peers: peers.length,
        connections: [...node.connectionTable.connections()].filter((c) => c.state === 'ESTABLISHED' || c.state === 'SYN_SENT' || c.state === 'SYN_RECV').length,
        ports: node.boundPorts().length,
        traffic: { ...node.tunnels.totals },
        drops: node.tunnels.drops() as Record<string, number>,
      };
      const pub = node.publicEndpoint;
      if (pub) info.publicEndpoint = `${pub.host}:${pub.port}`;
      return info;
    },
    'node.netcheck': async () => node.netcheck(),
    'node.setHostname': async ({ hostname }) => {
      const r = await node.registry.setHostname(hostname);
      node.hostname = r.hostname;
      return { hostname: r.hostname };
    },
    'node.setTags': async ({ tags }) => {
      const r = await node.registry.setTags(tags);
      node.tags = r.tags ?? [];
      return { tags: node.tags };
    },
    'node.setVisibility': async (a) => {
      const r = await node.registry.setVisibility(a.public);
      node.isPublic = r.visibility === 'public';
      return { public: node.isPublic };
    },
  };
}
