import { useMemo } from 'react';
import { approveTrust, dismissTrustNotification, rejectTrust } from '../app/commands';
import { formatAge } from '../lib/format';
import { useNow } from '../lib/hooks';
import { hrefOf } from '../lib/route';
import { failureDismissed } from '../store/connection/actions';
import { selectLastFailure } from '../store/connection/selectors';
import { selectPeersById } from '../store/peers/selectors';
import { useStore } from '../store/root';
import { notifications, selectTrust } from '../store/trust/selectors';

/** Trust requests as notifications with approve / reject, plus the latest failed call. */
export function Notifications(): React.JSX.Element {
  const trust = useStore(selectTrust);
  const peers = useStore(selectPeersById);
  const failure = useStore(selectLastFailure);
  const now = useNow(5000);
  const requests = useMemo(() => notifications(trust), [trust]);
  return (
    <div className="toasts" aria-live="polite">
      {requests.slice(0, 2).map((r) => {
        const p = peers[r.nodeId];
        const deciding = trust.deciding[r.nodeId];
        const error = trust.errors[r.nodeId];
        return (
          <div className="toast" key={r.nodeId} data-testid={`trust-request-${r.nodeId}`}>
            <div className="t-title">
              <span className="badge nodot trust-pending_in">trust request</span>
              <a href={hrefOf({ view: 'peer', nodeId: r.nodeId })}>{p?.hostname ?? `node ${r.nodeId}`}</a>
              <span className="muted" style={{ marginLeft: 'auto', fontWeight: 400, fontSize: 11 }}>
                {formatAge(now - r.receivedAt)}
              </span>
            </div>
            <div className="t-body">
              {p && <span className="mono">{p.address} · </span>}
              {r.justification ? `“${r.justification}”` : <span className="muted">no justification given</span>}
              {error && <div className="err-text">{error}</div>}
            </div>
            <div className="t-actions">
              <button className="btn small ghost" onClick={() => dismissTrustNotification(r.nodeId)} disabled={deciding !== undefined}>
                Later
              </button>
              <button className="btn small danger" onClick={() => void rejectTrust(r.nodeId)} disabled={deciding !== undefined} data-testid={`trust-reject-${r.nodeId}`}>
                {deciding === 'reject' ? 'Rejecting…' : 'Reject'}
              </button>
              <button className="btn small ok" onClick={() => void approveTrust(r.nodeId)} disabled={deciding !== undefined} data-testid={`trust-approve-${r.nodeId}`}>
                {deciding === 'approve' ? 'Approving…' : 'Approve'}
              </button>
            </div>
          </div>
        );
      })}
      {requests.length > 2 && <div className="toast more">+{requests.length - 2} more trust request{requests.length === 3 ? '' : 's'}</div>}
      {failure && (
        <div className="toast fail" data-testid="call-failure">
          <div className="t-title">
            <span className="err-text">{failure.method}</span> failed
            <span className="muted mono" style={{ marginLeft: 'auto', fontWeight: 400, fontSize: 11 }}>
              {failure.code}
            </span>
          </div>
          <div className="t-body">{failure.message}</div>
          <div className="t-actions">
            <button className="btn small ghost" onClick={failureDismissed}>
              Dismiss
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
