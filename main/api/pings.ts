/**
 * peers.ping: resolve, tunnel, then `count` control pings, each one traced. Each reply goes out
 * once, as a `ping.reply` event while the ping runs (the console and any other watcher draw it
 * live); the call's result is the report with every reply and the statistics (shared/ping-stats).
 */
import { formatAddress } from '../../shared/address';
import type { PingReply, PingReport } from '../../shared/contract';
import { toPilotError } from '../../shared/errors';
import { rttStats } from '../../shared/ping-stats';
import type { ApiContext, Handlers } from './context';

export function pingStats(replies: readonly PingReply[]): PingReport['stats'] {
  return rttStats(replies.map((r) => r.rttMs));
}

export function pingHandlers(ctx: ApiContext): Pick<Handlers, 'peers.ping'> {
  const { node, tracer } = ctx;
  return {
    'peers.ping': async (args) => {
      const count = args.count ?? 4;
      const timeoutMs = args.timeoutMs ?? 30_000;
      const deadline = node.clock.now() + timeoutMs;
      // The caller's trace (pilotctl: TRACEPARENT) when it sent one, else the active OTel context.
      const root = tracer.start('ping', args.traceparent, { target: args.target }, 'client');
      try {
        const resolved = await tracer.trace(
          'resolve',
          async (s) => {
            const r = await node.resolveTarget(args.target, s);
            s.set('node', r.nodeId);
            return r;
          },
          root,
        );
        const report: PingReport = { target: args.target, address: formatAddress(resolved.address), nodeId: resolved.nodeId, replies: [], stats: { sent: 0, received: 0 } };
        await tracer.trace(
          'tunnel',
          async (s) => {
            await node.ensureTunnel(resolved.nodeId, s);
            s.set('path', node.tunnels.pathOf(resolved.nodeId) ?? 'pending');
          },
          root,
        );
        for (let seq = 0; seq < count; seq++) {
          const left = deadline - node.clock.now();
          if (left <= 0) break;
          const span = root.child('echo');
          span.set('seq', seq);
          let reply: PingReply;
          try {
            const rtt = await node.controlPing(resolved.nodeId, Math.min(left, 5000));
            const path = node.tunnels.pathOf(resolved.nodeId) ?? 'pending';
            node.recordRtt(resolved.nodeId, rtt);
            reply = { seq, rttMs: rtt, path, bytes: 0 };
            span.set('rtt_ms', rtt);
            span.set('path', path);
            span.end();
          } catch (e) {
            reply = { seq, error: toPilotError(e).message };
            span.end('error');
          }
          report.replies.push(reply);
          ctx.events.emit('ping.reply', { target: args.target, nodeId: resolved.nodeId, reply });
          ctx.events.emit('peer.updated', ctx.peerView(resolved.nodeId));
          const wait = Math.min(args.intervalMs ?? 0, deadline - node.clock.now());
          if (seq < count - 1 && wait > 0) await new Promise<void>((r) => node.clock.setTimeout(r, wait));
        }
        report.stats = pingStats(report.replies);
        root.end(report.stats.received > 0 ? 'ok' : 'error');
        return report;
      } catch (e) {
        root.fail(toPilotError(e).message);
        throw e;
      }
    },
  };
}
