/**
 * A probe between two fleet members from the console: member A pings member B, runs a traceroute
 * to it (the dial to B's echo port, timed, the overlay hops, then round trips over that stream) or
 * sends it 1 MiB through B's echo port and back (fleet.probe; A must trust the console's node to
 * take the request). Shows the RTTs, the route or the rate, or the refusal with its hint.
 */
import { useEffect, useState } from 'react';
import type { FleetMemberView, FleetProbeView } from '../../../shared/contract';
import { probePair } from '../app/fleet-commands';
import { formatMs } from '../lib/format';
import { memberName, selectFleet } from '../store/fleet/selectors';
import { probeKey } from '../store/fleet/state';
import { useStore } from '../store/root';

type ProbeMode = 'ping' | 'traceroute' | 'throughput';

/** A traceroute's answer, as `pilotctl traceroute` prints it: the dial (setup), each hop, the round trips. */
function Traceroute({ p, name }: { p: FleetProbeView; name: (id: number) => string }): React.JSX.Element | null {
  const t = p.traceroute;
  if (!t) return null;
  return (
    <div data-testid="probe-traceroute" data-setup-ms={t.setupMs} data-hops={t.hops.length} data-path={p.path ?? ''}>
      <p>
        setup <b>{formatMs(t.setupMs)}</b> {t.tunnelWasUp ? '(SYN/ACK over the tunnel that was up)' : '(tunnel negotiation + SYN/ACK)'} over {p.path ?? 'no tunnel'}
      </p>
      <ol className="hops">
        {t.hops.map((h, i) => (
          <li key={i} data-testid={`probe-hop-${i + 1}`} data-kind={h.kind}>
            {h.kind === 'relay' ? 'beacon relay' : name(h.nodeId ?? 0)}
            {h.endpoint ? <span className="mono muted"> {h.endpoint}</span> : null}
          </li>
        ))}
      </ol>
      <p className="muted">
        round trips over the stream: {p.rtts.map((r) => formatMs(r)).join(', ') || 'none'}
        {p.errors.length ? <span className="err-text"> — {p.errors[0]}</span> : null}
      </p>
    </div>
  );
}

export function FleetProbe({ members, pick }: { members: FleetMemberView[]; pick?: { a: number; b: number } | undefined }): React.JSX.Element {
  const [from, setFrom] = useState<number>(pick?.a ?? members[0]?.nodeId ?? 0);
  const [to, setTo] = useState<number>(pick?.b ?? members[1]?.nodeId ?? 0);
  const [mode, setMode] = useState<ProbeMode>('ping');
  useEffect(() => {
    if (!pick) return;
    setFrom(pick.a);
    setTo(pick.b);
  }, [pick]);
  const probe = useStore((s) => selectFleet(s).probes[probeKey(from, to)]);
  const sel = (value: number, set: (n: number) => void, testId: string): React.JSX.Element => (
    <select className="select" value={value} onChange={(e) => set(Number(e.target.value))} data-testid={testId}>
      {members.map((m) => (
        <option key={m.nodeId} value={m.nodeId}>
          {memberName(m, m.nodeId)}
        </option>
      ))}
    </select>
  );
  return (
    <div className="panel-b" data-testid="fleet-probe">
      <div className="toolbar">
        <span className="muted">Probe from</span>
        {sel(from, setFrom, 'probe-from')}
        <span className="muted">to</span>
        {sel(to, setTo, 'probe-to')}
        <select className="select" value={mode} onChange={(e) => setMode(e.target.value as ProbeMode)} data-testid="probe-mode">
          <option value="ping">ping ×3</option>
          <option value="traceroute">traceroute</option>
          <option value="throughput">throughput (1 MiB)</option>
        </select>
        <button className="btn small primary" disabled={from === to || probe?.status === 'running'} onClick={() => void probePair(from, to, mode)} data-testid="probe-button">
          {probe?.status === 'running' ? 'Probing…' : 'Run'}
        </button>
      </div>
      {probe?.status === 'done' && probe.value.throughput && (
        <p data-testid="probe-throughput" data-mbit={probe.value.throughput.mbitPerS}>
          {(probe.value.throughput.bytes / 1048576).toFixed(2)} MiB there and back in {formatMs(probe.value.throughput.ms)}: <b>{probe.value.throughput.mbitPerS.toFixed(1)} Mbit/s</b> each way over {probe.value.path ?? 'no tunnel'}
        </p>
      )}
      {probe?.status === 'done' && probe.value.traceroute && <Traceroute p={probe.value} name={(id) => memberName(members.find((m) => m.nodeId === id), id)} />}
      {probe?.status === 'done' && !probe.value.throughput && !probe.value.traceroute && (
        <p data-testid="probe-result" data-rtt-ms={probe.value.stats.medianMs ?? ''} data-path={probe.value.path ?? ''}>
          {probe.value.stats.received}/{probe.value.stats.sent} replies, median <b>{formatMs(probe.value.stats.medianMs)}</b> (min {formatMs(probe.value.stats.minMs)}, max {formatMs(probe.value.stats.maxMs)}) over {probe.value.path ?? 'no tunnel'}
          {probe.value.errors.length ? <span className="err-text"> — {probe.value.errors[0]}</span> : null}
        </p>
      )}
      {probe?.status === 'failed' && (
        <p className="err-text" data-testid="probe-error">
          {probe.error.message}
          {probe.error.hint ? <span className="muted"> — {probe.error.hint}</span> : null}
        </p>
      )}
    </div>
  );
}
