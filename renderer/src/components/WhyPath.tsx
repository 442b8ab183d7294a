/**
 * "Why this path" on the Peer view: the story of this node's tunnel to the peer, step by step, as
 * the node tells it from its dial trace (fleet.why): the NAT types, the key exchange, punches and
 * their timings, why the relay was chosen, the later upgrade (or why there has been none).
 */
import { loadWhy } from '../app/fleet-commands';
import { formatMs } from '../lib/format';
import { hrefOf } from '../lib/route';
import { selectFleet } from '../store/fleet/selectors';
import { whyKey } from '../store/fleet/state';
import { useStore } from '../store/root';

/** `from`: a member's story of its tunnel to `nodeId` (the matrix's pair panel); default this node's. */
export function WhyPath({ nodeId, from, title = 'Why this path' }: { nodeId: number; from?: number; title?: string }): React.JSX.Element {
  const why = useStore((s) => selectFleet(s).why[whyKey(nodeId, from)]);
  const view = why?.status === 'done' ? why.value : undefined;
  return (
    <section className="panel" data-testid="why-panel">
      <div className="panel-h">
        {title}
        <span className="spacer" />
        <button className="btn small" onClick={() => void loadWhy(nodeId, from)} disabled={why?.status === 'running'} data-testid="why-button">
          {why?.status === 'running' ? 'Asking…' : view ? 'Again' : 'Explain'}
        </button>
      </div>
      <div className="panel-b">
        {!why && <p className="muted">The story of the connection from its dial trace: NAT types, punches, relay and upgrade.</p>}
        {why?.status === 'failed' && (
          <p className="err-text">
            {why.error.message}
            {why.error.hint ? <span className="muted"> — {why.error.hint}</span> : null}
          </p>
        )}
        {view && (
          <>
            {view.traceId && (
              <p className="muted" style={{ marginTop: 0 }}>
                dial trace{' '}
                {from === undefined ? (
                  <a href={hrefOf({ view: 'traces', traceId: view.traceId })}>{view.traceId.slice(0, 16)}…</a>
                ) : (
                  // The spans are on the member that told the story, not on this node.
                  <span className="mono" title="recorded on the member that tells the story">{view.traceId.slice(0, 16)}…</span>
                )}
              </p>
            )}
            <ol className="why-steps" data-testid="why-steps">
              {view.steps.map((s, i) => (
                <li key={i} className={`why-${s.status}`} data-testid={`why-step-${s.stage}`} data-stage={s.stage}>
                  <div className="why-title">
                    <b>{s.title}</b>
                    {s.atMs !== undefined ? <span className="muted num"> +{formatMs(s.atMs)}</span> : null}
                    {s.durationMs !== undefined && s.stage !== 'establish' ? <span className="muted num"> ({formatMs(s.durationMs)})</span> : null}
                  </div>
                  <div className="why-detail">{s.detail}</div>
                </li>
              ))}
            </ol>
          </>
        )}
      </div>
    </section>
  );
}
