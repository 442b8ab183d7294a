/**
 * "Why this path", pure: the story of a tunnel, step by step, from this node's dial spans
 * (node-tracing.ts: tunnel.establish with its endpoint.tried events and the answering endpoint,
 * children key_exchange, punch, relay; the later tunnel.upgrade in the same trace) and the NAT type
 * each side reported.
 */
import type { SpanView } from '../../../shared/contract';
import type { WhyPathView, WhyStepView } from '../../../shared/contract-fleet';

export interface WhyInput {
  nodeId: number;
  hostname?: string;
  /** The tunnel's path now (`pending` / absent: no tunnel). */
  path: string | undefined;
  endpoint?: string;
  pathChanges: number;
  localNat?: string;
  peerNat?: string;
  /** Spans of this node (any order); the newest establishment toward `nodeId` is the story. */
  spans: SpanView[];
}

const RELAY_REASONS: Record<string, string> = {
  no_direct_answer: 'the peer did not answer on a direct path (its endpoint and the punches got no reply in time), so the beacon relays the traffic',
  no_endpoint: 'the registry gave no endpoint this node could reach directly (a private peer behind NAT), so the beacon relays the traffic',
};

const PUNCH_FAILS_WITH = new Set(['symmetric']);

const SOURCE_TEXT: Record<string, string> = {
  registry: 'the registered endpoint (from the registry)',
  known: 'the endpoint this node already knew (the peer had reached it from there)',
  beacon: 'the endpoint the beacon observed for the peer (named in its punch command)',
};

export interface EndpointTried {
  endpoint: string;
  source: string;
  /** ms into the dial when the key exchange first went there. */
  atMs: number;
  outcome: 'answered' | 'no_answer';
  /** Answered: ms from the first key exchange there to the tunnel being up. */
  answeredAfterMs?: number;
  /** The same endpoint named again later by another source (a punch command naming the registered endpoint). */
  againBy?: { source: string; atMs: number }[];
}

/** The endpoints a dial tried, in order, each with its outcome (from the establishment span). */
export function endpointsTried(establish: SpanView): EndpointTried[] {
  const answered = establish.attrs['endpoint'];
  const estMs = establish.attrs['establish_ms'];
  const out: EndpointTried[] = [];
  // Times from the dial's start (as the other steps): `at_ms` counts from the tunnel layer's start,
  // after the registry lookup; the event's own time places it in the dial.
  let tunnelStart: number | undefined;
  for (const e of establish.events ?? []) {
    if (e.name !== 'endpoint.tried') continue;
    const endpoint = String(e.attrs?.['endpoint'] ?? '');
    if (!endpoint) continue;
    const atMs = Math.max(0, Math.round(e.timeMs - establish.startMs));
    const source = String(e.attrs?.['source'] ?? 'unknown');
    const sinceTunnel = e.attrs?.['at_ms'];
    if (tunnelStart === undefined && typeof sinceTunnel === 'number') tunnelStart = atMs - sinceTunnel;
    const seen = out.find((x) => x.endpoint === endpoint);
    if (seen) {
      if (source !== seen.source && !seen.againBy?.some((a) => a.source === source)) (seen.againBy ??= []).push({ source, atMs });
      continue;
    }
    out.push({ endpoint, source, atMs, outcome: endpoint === answered ? 'answered' : 'no_answer' });
  }
  const upAt = typeof estMs === 'number' ? (tunnelStart ?? 0) + estMs : establish.durationMs;
  for (const t of out) if (t.outcome === 'answered') t.answeredAfterMs = Math.max(0, Math.round(upAt - t.atMs));
  return out;
}

function endpointsDetail(tried: EndpointTried[], establish: SpanView): string {
  const path = establish.attrs['path'];
  const lines = tried.map((t) => {
    const again = (t.againBy ?? []).map((a) => (a.source === 'beacon' ? `; named again by the beacon's punch command at ${a.atMs} ms` : `; again as ${a.source} at ${a.atMs} ms`)).join('');
    const what = `${t.endpoint}: ${SOURCE_TEXT[t.source] ?? t.source}, tried at ${t.atMs} ms${again}`;
    if (t.outcome === 'answered') return `${what}; answered, the tunnel up ${t.answeredAfterMs ?? 0} ms later`;
    return `${what}; no answer from it${path === 'relay' ? '' : ' (the peer answered from elsewhere)'}`;
  });
  if (path === 'relay') lines.push('none answered directly: the beacon relays the tunnel');
  return lines.join('\n');
}

function natLine(who: string, nat: string | undefined): string {
  if (!nat) return `${who}: NAT type not reported`;
  if (nat === 'none') return `${who}: no NAT (public address)`;
  return `${who}: ${nat} NAT`;
}

/** Builds the story; steps are in the order they happened. */
export function whyThisPath(i: WhyInput): WhyPathView {
  const steps: WhyStepView[] = [];
  const out: WhyPathView = { nodeId: i.nodeId, path: i.path ?? 'none', steps };
  if (i.hostname) out.hostname = i.hostname;
  if (i.endpoint) out.endpoint = i.endpoint;
  if (i.localNat) out.localNat = i.localNat;
  if (i.peerNat) out.peerNat = i.peerNat;
  steps.push({ stage: 'nat', title: 'NAT types reported', detail: `${natLine('this node', i.localNat)}; ${natLine('the peer', i.peerNat)}`, status: 'info' });

  const peerId = (s: SpanView): unknown => s.attrs['peer.node_id'];
  const establish = i.spans.filter((s) => s.name === 'tunnel.establish' && peerId(s) === i.nodeId).sort((x, y) => y.startMs - x.startMs)[0];
  if (!establish) {
    steps.push({
      stage: 'missing',
      title: 'No dial trace on this node',
      detail: 'this node holds no tunnel.establish span toward the peer: the peer dialled this node (its dial trace is on its side), or the span has left the bounded ring',
      status: 'info',
    });
  } else {
    out.traceId = establish.traceId;
    const t0 = establish.startMs;
    const children = i.spans.filter((s) => s.traceId === establish.traceId && s.spanId !== establish.spanId).sort((x, y) => x.startMs - y.startMs);
    steps.push({ stage: 'establish', title: 'Dial started', detail: `this node needed a tunnel to the peer (trace ${establish.traceId.slice(0, 8)}…)`, status: 'info', atMs: 0, durationMs: establish.durationMs });
    const tried = endpointsTried(establish);
    if (tried.length > 0) {
      const ok = tried.some((t) => t.outcome === 'answered');
      steps.push({
        stage: 'endpoints',
        title: `Endpoints tried: ${tried.length}${ok ? '' : ', none answered'}`,
        detail: endpointsDetail(tried, establish),
        status: ok ? 'ok' : establish.attrs['path'] === 'relay' ? 'info' : 'error',
        atMs: tried[0]!.atMs,
      });
    }
    for (const c of children) {
      const at = Math.max(0, Math.round(c.startMs - t0));
      if (c.name === 'key_exchange') {
        steps.push({ stage: 'key_exchange', title: 'Key exchange', detail: `X25519 key exchange signed with Ed25519, ${Math.round(c.durationMs)} ms until frames could flow`, status: c.status, atMs: at, durationMs: c.durationMs });
      } else if (c.name === 'punch') {
        const outcome = c.attrs['punch.outcome'];
        const after = c.attrs['punch.after_ms'];
        steps.push({
          stage: 'punch',
          title: 'Hole punch',
          detail: `asked the beacon to coordinate a punch${typeof after === 'number' ? ` ${after} ms into the dial` : ''}: ${outcome === undefined ? (c.status === 'ok' ? 'succeeded' : 'failed') : String(outcome)}${c.statusMessage ? ` (${c.statusMessage})` : ''}`,
          status: c.status,
          atMs: at,
          durationMs: c.durationMs,
        });
      } else if (c.name === 'relay') {
        const reason = String(c.attrs['relay.reason'] ?? 'unknown');
        steps.push({ stage: 'relay', title: 'Relay chosen', detail: `${reason}: ${RELAY_REASONS[reason] ?? 'no reason recorded'}`, status: 'info', atMs: at, durationMs: c.durationMs });
      }
    }
    const estPath = establish.attrs['path'];
    if (establish.status === 'error') {
      steps.push({ stage: 'established', title: 'Dial failed', detail: establish.statusMessage ?? 'the establishment failed', status: 'error', atMs: Math.round(establish.durationMs) });
    } else {
      steps.push({ stage: 'established', title: `Established: ${String(estPath ?? 'unknown path')}`, detail: `the tunnel was up after ${String(establish.attrs['establish_ms'] ?? Math.round(establish.durationMs))} ms`, status: 'ok', atMs: Math.round(establish.durationMs) });
    }
    const upgrades = children.filter((c) => c.name === 'tunnel.upgrade');
    for (const c of upgrades) {
      const dur = c.attrs['relay.duration_ms'];
      steps.push({
        stage: 'upgrade',
        title: `Upgraded to ${String(c.attrs['path'] ?? 'a direct path')}`,
        detail: `after ${typeof dur === 'number' ? `${Math.round(dur / 1000)} s` : 'some time'} on the relay, a direct path answered and the tunnel moved to it`,
        status: 'ok',
        atMs: Math.max(0, Math.round(c.startMs - t0)),
      });
    }
    const upgraded = upgrades.length > 0;
    if (estPath === 'relay' && !upgraded) {
      const symmetric = [i.localNat, i.peerNat].some((n) => n !== undefined && PUNCH_FAILS_WITH.has(n));
      steps.push({
        stage: 'no_upgrade',
        title: 'No upgrade yet',
        detail: symmetric
          ? 'one side is behind a symmetric NAT (a new port per destination): punching cannot open a direct path, so the relay stays'
          : i.path === 'relay'
            ? 'the node keeps retrying a direct path in the background; none has answered yet'
            : `the path is now ${i.path ?? 'gone'} (changed outside this trace)`,
        status: 'info',
      });
    }
  }
  steps.push({
    stage: 'now',
    title: `Now: ${i.path ?? 'no tunnel'}`,
    detail: `${i.endpoint ? `endpoint ${i.endpoint}, ` : ''}${i.pathChanges} path change${i.pathChanges === 1 ? '' : 's'} since the tunnel was made`,
    status: 'info',
  });
  return out;
}
