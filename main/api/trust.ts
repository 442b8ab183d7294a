/** The trust domain: handshake requests in and out, approvals, revocations (port 444 service). */
import type { ApiContext, DomainHandlers } from './context';

export function trustHandlers({ node, services }: ApiContext): DomainHandlers<'trust'> {
  return {
    'trust.pending': async () => services().trustPending(),
    'trust.list': async () => services().trustList(),
    'trust.request': async ({ target, justification }) => {
      const r = await node.resolveTarget(target);
      return services().trustRequest(r.nodeId, justification ?? '');
    },
    'trust.approve': async ({ nodeId }) => services().trustApprove(nodeId),
    'trust.reject': async ({ nodeId, reason }) => services().trustReject(nodeId, reason ?? ''),
    'trust.revoke': async ({ nodeId }) => services().trustRevoke(nodeId),
  };
}
