/**
 * The visual ping's latency chart (uPlot on a canvas): RTT per reply, lost replies as red ticks,
 * min / median / p99 as horizontal guides, and path changes as labelled vertical markers.
 */
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useSize } from '../lib/hooks';
import type { LatencyStats } from '../store/pings/selectors';
import type { PathMark, PingSample } from '../store/pings/state';

/** The x of a moment: replies are plotted by their order, so a marker goes just before the first reply after it. */
function xOfTime(samples: readonly PingSample[], at: number): number {
  const i = samples.findIndex((s) => s.at >= at);
  return i < 0 ? samples.length - 0.5 : i - 0.5;
}

const PATH_COLOR: Record<string, string> = { direct: '#3fb950', punched: '#39c5cf', relay: '#e3a23b', pending: '#8b949e' };

interface Overlay {
  samples: readonly PingSample[];
  marks: readonly PathMark[];
  stats: LatencyStats;
}

function drawOverlay(u: uPlot, o: Overlay): void {
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  const dpr = uPlot.pxRatio;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  // min / median / p99 guides
  const guides: [string, number | undefined, string][] = [
    ['min', o.stats.minMs, '#3fb950'],
    ['median', o.stats.medianMs, '#5aa9ff'],
    ['p99', o.stats.p99Ms, '#e3a23b'],
  ];
  ctx.font = `${10.5 * dpr}px system-ui, sans-serif`;
  for (const [label, v, color] of guides) {
    if (v === undefined) continue;
    const y = u.valToPos(v, 'y', true);
    ctx.strokeStyle = color + 'aa';
    ctx.setLineDash([4 * dpr, 4 * dpr]);
    ctx.lineWidth = dpr;
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + width, y);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = color;
    ctx.textAlign = 'right';
    // min sits under its line, the others above, so close values stay readable
    ctx.fillText(label, left + width - 4 * dpr, label === 'min' ? y + 11 * dpr : y - 3 * dpr);
  }
  // lost replies
  ctx.fillStyle = '#f85149';
  for (const [i, s] of o.samples.entries()) {
    if (s.rttMs !== undefined) continue;
    const x = u.valToPos(i, 'x', true);
    ctx.fillRect(x - dpr, top + height - 8 * dpr, 2 * dpr, 8 * dpr);
  }
  // path changes
  ctx.textAlign = 'left';
  for (const m of o.marks) {
    if (!m.from) continue;
    const x = u.valToPos(xOfTime(o.samples, m.at), 'x', true);
    if (x < left || x > left + width) continue;
    const color = PATH_COLOR[m.to] ?? '#ffffff';
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5 * dpr;
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.fillStyle = color;
    ctx.fillText(`${m.from} → ${m.to}`, x + 4 * dpr, top + 12 * dpr);
  }
  ctx.restore();
}

export function LatencyChart({ samples, marks, stats }: Overlay): React.JSX.Element {
  const [box, setBox] = useState<HTMLDivElement | null>(null);
  const size = useSize(box);
  const plot = useRef<uPlot | null>(null);
  const overlay = useRef<Overlay>({ samples, marks, stats });
  overlay.current = { samples, marks, stats };

  useEffect(() => {
    if (!box) return;
    const axis = { stroke: '#7a8696', grid: { stroke: '#ffffff0f', width: 1 }, ticks: { stroke: '#ffffff1a', width: 1 }, font: '11px system-ui, sans-serif' };
    const opts: uPlot.Options = {
      width: Math.max(100, box.clientWidth),
      height: 228,
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: { x: { time: false, range: (_u, min, max) => [min - 0.5, Math.max(max + 0.5, min + 4.5)] }, y: { range: (_u, _min, max) => [0, Math.max(0.1, (max ?? 1) * 1.15)] } },
      axes: [{ ...axis, space: 44, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500], values: (_u, vals) => vals.map((v) => `#${v + 1}`) }, { ...axis, size: 54, values: (_u, vals) => vals.map((v) => (v === 0 ? '0' : v < 1 ? `${(v * 1000).toFixed(0)}µs` : `${+v.toFixed(2)}ms`)) }],
      series: [{}, { label: 'RTT', stroke: '#5aa9ff', width: 1.5, fill: '#5aa9ff18', points: { show: true, size: 4, fill: '#5aa9ff' }, spanGaps: false }],
      hooks: { draw: [(u) => drawOverlay(u, overlay.current)] },
    };
    const u = new uPlot(opts, [[], []], box);
    plot.current = u;
    return () => {
      u.destroy();
      plot.current = null;
    };
  }, [box]);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    // By reply order, not arrival time: a burst and a slow series read the same way.
    const xs = samples.map((_s, i) => i);
    const ys = samples.map((s) => s.rttMs ?? null);
    u.setData([xs, ys]);
  }, [samples, marks, stats]);

  useEffect(() => {
    if (plot.current && size.width > 0) plot.current.setSize({ width: size.width, height: 228 });
  }, [size.width]);

  return <div className="chart" ref={setBox} data-testid="latency-chart" />;
}
