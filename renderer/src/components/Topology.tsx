/**
 * The live topology: a d3-force layout drawn on a canvas (smooth with a thousand peers, where SVG
 * elements would not be). Positions survive updates; the layout is only re-heated when nodes or
 * links come or go. Wheel zooms, drag pans, click opens a peer.
 */
import { forceCollide, forceSimulation, forceX, forceY, type Simulation, type SimulationNodeDatum } from 'd3-force';
import { useEffect, useRef, useState } from 'react';
import { formatMs } from '../lib/format';
import { useSize } from '../lib/hooks';
import { layoutAnchors, type TopoGraph, type TopoLink, type TopoNode } from '../lib/topology';

/** A laid-out node: `ax`/`ay` is where the layout pulls it, `as` how hard. */
type SimNode = TopoNode & SimulationNodeDatum & { ax?: number; ay?: number; as?: number };
interface SimLink {
  source: SimNode;
  target: SimNode;
  kind: TopoLink['kind'];
}

const COLORS = {
  direct: '#3fb950',
  punched: '#39c5cf',
  relay: '#e3a23b',
  pending: '#6e7781',
  member: '#a371f724',
  backbone: '#e3a23b',
  self: '#5aa9ff',
  group: '#a371f7',
  label: '#c9d3df',
  bg: '#161b22',
} as const;

function radius(n: SimNode, peerCount: number): number {
  switch (n.kind) {
    case 'self':
      return 9;
    case 'relay':
      return 8;
    case 'group':
      return 5 + Math.min(9, Math.sqrt(n.size ?? 1));
    case 'peer':
      return peerCount > 300 ? 2.6 : peerCount > 80 ? 3.6 : 5;
  }
}

function structureKey(g: TopoGraph): string {
  // Tunnel links only say which path a peer takes (a colour); memberships and nodes shape the layout.
  return g.nodes.map((n) => n.id).join(',') + '|' + g.links.map((l) => (l.kind === 'member' ? `${l.source}>${l.target}` : '')).join(',');
}

interface View {
  x: number;
  y: number;
  k: number;
}

export function Topology({ graph, onOpenPeer, selected, rttOf }: { graph: TopoGraph; onOpenPeer: (nodeId: number) => void; selected?: number; rttOf?: (nodeId: number) => number | undefined }): React.JSX.Element {
  const [box, setBox] = useState<HTMLDivElement | null>(null);
  const size = useSize(box);
  const canvas = useRef<HTMLCanvasElement>(null);
  const sim = useRef<Simulation<SimNode, SimLink> | null>(null);
  const nodes = useRef<SimNode[]>([]);
  const peersDrawn = useRef(0);
  const links = useRef<SimLink[]>([]);
  const key = useRef('');
  const view = useRef<View>({ x: 0, y: 0, k: 1 });
  const hover = useRef<SimNode | null>(null);
  const selectedRef = useRef<number | undefined>(selected);
  const sizeRef = useRef(size);
  const [tip, setTip] = useState<{ x: number; y: number; n: SimNode } | null>(null);
  selectedRef.current = selected;
  sizeRef.current = size;

  /** Until the user zooms or pans, the view keeps the whole graph in frame. */
  const autoFit = useRef(true);
  const fit = (): void => {
    const { width, height } = sizeRef.current;
    if (width === 0 || height === 0 || nodes.current.length === 0) return;
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (const n of nodes.current) {
      x0 = Math.min(x0, n.x ?? 0);
      y0 = Math.min(y0, n.y ?? 0);
      x1 = Math.max(x1, n.x ?? 0);
      y1 = Math.max(y1, n.y ?? 0);
    }
    const pad = 28;
    const k = Math.min(2.5, Math.max(0.15, Math.min((width - 2 * pad) / Math.max(1, x1 - x0), (height - 2 * pad - 24) / Math.max(1, y1 - y0))));
    view.current = { k, x: -((x0 + x1) / 2) * k, y: -((y0 + y1) / 2) * k - 10 };
  };
  const fitRef = useRef(fit);
  fitRef.current = fit;

  const draw = useRef<() => void>(() => undefined);
  draw.current = () => {
    const c = canvas.current;
    const { width, height } = sizeRef.current;
    if (!c || width === 0 || height === 0) return;
    const dpr = window.devicePixelRatio || 1;
    if (c.width !== Math.round(width * dpr) || c.height !== Math.round(height * dpr)) {
      c.width = Math.round(width * dpr);
      c.height = Math.round(height * dpr);
    }
    const ctx = c.getContext('2d');
    if (!ctx) return;
    const v = view.current;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.translate(width / 2 + v.x, height / 2 + v.y);
    ctx.scale(v.k, v.k);
    const peerCount = nodes.current.length;
    // What the last frame drew, and how many frames so far (the scale test waits on them).
    c.dataset['drawnPeers'] = String(peersDrawn.current);
    c.dataset['draws'] = String(Number(c.dataset['draws'] ?? 0) + 1);
    // Links: membership first (faint), then tunnels.
    ctx.lineWidth = 1 / v.k;
    ctx.strokeStyle = COLORS.member;
    ctx.beginPath();
    for (const l of links.current) {
      if (l.kind !== 'member') continue;
      const s = l.source;
      const t = l.target;
      ctx.moveTo(s.x ?? 0, s.y ?? 0);
      ctx.lineTo(t.x ?? 0, t.y ?? 0);
    }
    ctx.stroke();
    for (const kind of ['pending', 'relay', 'punched', 'direct', 'backbone'] as const) {
      ctx.strokeStyle = COLORS[kind] + (kind === 'backbone' ? '' : peerCount > 300 ? '26' : peerCount > 80 ? '55' : '99');
      ctx.lineWidth = (kind === 'backbone' ? 2 : 1) / v.k;
      ctx.setLineDash(kind === 'relay' || kind === 'pending' ? [4 / v.k, 3 / v.k] : kind === 'punched' ? [8 / v.k, 2 / v.k] : []);
      ctx.beginPath();
      for (const l of links.current) {
        if (l.kind !== kind) continue;
        const s = l.source;
        const t = l.target;
        ctx.moveTo(s.x ?? 0, s.y ?? 0);
        ctx.lineTo(t.x ?? 0, t.y ?? 0);
      }
      ctx.stroke();
    }
    ctx.setLineDash([]);
    // Nodes.
    for (const n of nodes.current) {
      const r = radius(n, peerCount);
      ctx.beginPath();
      ctx.arc(n.x ?? 0, n.y ?? 0, r, 0, Math.PI * 2);
      ctx.fillStyle = n.kind === 'peer' ? COLORS[n.path ?? 'pending'] : n.kind === 'group' ? COLORS.group : n.kind === 'self' ? COLORS.self : COLORS.relay;
      ctx.fill();
      if (n.kind !== 'peer' || n.nodeId === selectedRef.current || n === hover.current) {
        ctx.lineWidth = (n.kind === 'peer' ? 2 : 1.5) / v.k;
        ctx.strokeStyle = n.kind === 'peer' ? '#ffffff' : COLORS.bg;
        ctx.stroke();
      }
    }
    // Labels: hubs always, peers when few or pointed at.
    ctx.font = `${11 / v.k}px system-ui, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const n of nodes.current) {
      const labelled = n.kind !== 'peer' || peerCount <= 40 || n.nodeId === selectedRef.current || n === hover.current;
      if (!labelled) continue;
      const r = radius(n, peerCount);
      const text = n.kind === 'group' ? `${n.label} (${n.size ?? 0})` : n.label;
      ctx.lineWidth = 3 / v.k;
      ctx.strokeStyle = COLORS.bg;
      ctx.strokeText(text, n.x ?? 0, (n.y ?? 0) + r + 3 / v.k);
      ctx.fillStyle = n.kind === 'group' ? '#cbbdf5' : COLORS.label;
      ctx.fillText(text, n.x ?? 0, (n.y ?? 0) + r + 3 / v.k);
    }
  };

  // Create the simulation once. Positions come from anchors (lib/topology.ts layoutAnchors): peers
  // are pulled to their group hub or path ring, pushed apart by charge and collision; tunnel links
  // are drawn but exert no force.
  useEffect(() => {
    // No many-body force: collision alone spreads a cluster, at a fraction of the cost per tick with
    // a thousand peers; the layout cools in about a hundred ticks and then costs nothing.
    const s = forceSimulation<SimNode, SimLink>([])
      .force('collide', forceCollide<SimNode>((n) => radius(n, nodes.current.length) + 1.6).iterations(1))
      .force('x', forceX<SimNode>((n) => n.ax ?? 0).strength((n) => n.as ?? 0.05))
      .force('y', forceY<SimNode>((n) => n.ay ?? 0).strength((n) => n.as ?? 0.05))
      .alphaMin(0.005)
      .alphaDecay(0.05)
      .on('tick', () => {
        if (autoFit.current) fitRef.current();
        draw.current();
      });
    sim.current = s;
    return () => {
      s.stop();
      sim.current = null;
    };
  }, []);

  // Feed it the graph, keeping positions of nodes it already has.
  useEffect(() => {
    const s = sim.current;
    if (!s) return;
    const anchors = layoutAnchors(graph);
    const prev = new Map(nodes.current.map((n) => [n.id, n]));
    let moved = false;
    const next: SimNode[] = graph.nodes.map((n) => {
      const a = anchors.get(n.id) ?? { x: 0, y: 0, fixed: false, strength: 0.05 };
      const old = prev.get(n.id);
      if (old && (old.ax !== a.x || old.ay !== a.y)) moved = true;
      const node: SimNode = old ?? { ...n, x: a.x + (Math.random() - 0.5) * 40, y: a.y + (Math.random() - 0.5) * 40 };
      Object.assign(node, n);
      node.ax = a.x;
      node.ay = a.y;
      node.as = a.strength;
      if (a.fixed) {
        node.fx = a.x;
        node.fy = a.y;
      } else {
        node.fx = null;
        node.fy = null;
      }
      return node;
    });
    nodes.current = next;
    peersDrawn.current = next.reduce((n, x) => n + (x.kind === 'peer' ? 1 : 0), 0);
    const byId = new Map(next.map((n) => [n.id, n]));
    links.current = graph.links.flatMap((l) => {
      const source = byId.get(l.source);
      const target = byId.get(l.target);
      return source && target ? [{ source, target, kind: l.kind }] : [];
    });
    const k = structureKey(graph);
    const structural = k !== key.current;
    key.current = k;
    if (structural || moved) {
      s.nodes(next); // re-reads the anchors
      s.alpha(Math.max(s.alpha(), prev.size === 0 ? 1 : structural ? 0.3 : 0.12)).restart();
    } else draw.current(); // only colours changed
  }, [graph]);

  useEffect(() => {
    if (autoFit.current) fitRef.current();
    draw.current();
  }, [size, selected]);

  const toWorld = (clientX: number, clientY: number): { x: number; y: number } => {
    const rect = canvas.current?.getBoundingClientRect();
    const v = view.current;
    const px = clientX - (rect?.left ?? 0) - size.width / 2 - v.x;
    const py = clientY - (rect?.top ?? 0) - size.height / 2 - v.y;
    return { x: px / v.k, y: py / v.k };
  };

  const drag = useRef<{ x: number; y: number; vx: number; vy: number; moved: boolean } | null>(null);

  const pick = (clientX: number, clientY: number): SimNode | undefined => {
    const p = toWorld(clientX, clientY);
    return sim.current?.find(p.x, p.y, 12 / view.current.k);
  };

  return (
    <div className="topo" ref={setBox} data-testid="topology">
      <canvas
        ref={canvas}
        onWheel={(e) => {
          autoFit.current = false;
          const v = view.current;
          const k = Math.min(6, Math.max(0.2, v.k * Math.exp(-e.deltaY * 0.0015)));
          const rect = canvas.current?.getBoundingClientRect();
          const cx = e.clientX - (rect?.left ?? 0) - size.width / 2;
          const cy = e.clientY - (rect?.top ?? 0) - size.height / 2;
          view.current = { k, x: cx - ((cx - v.x) * k) / v.k, y: cy - ((cy - v.y) * k) / v.k };
          draw.current();
        }}
        onPointerDown={(e) => {
          drag.current = { x: e.clientX, y: e.clientY, vx: view.current.x, vy: view.current.y, moved: false };
          (e.target as HTMLCanvasElement).setPointerCapture(e.pointerId);
        }}
        onPointerMove={(e) => {
          const d = drag.current;
          if (d) {
            const dx = e.clientX - d.x;
            const dy = e.clientY - d.y;
            if (Math.abs(dx) + Math.abs(dy) > 3) d.moved = true;
            if (d.moved) {
              autoFit.current = false;
              view.current = { ...view.current, x: d.vx + dx, y: d.vy + dy };
              draw.current();
            }
            return;
          }
          const n = pick(e.clientX, e.clientY) ?? null;
          if (n !== hover.current) {
            hover.current = n;
            draw.current();
          }
          const rect = canvas.current?.getBoundingClientRect();
          setTip(n ? { x: e.clientX - (rect?.left ?? 0), y: e.clientY - (rect?.top ?? 0), n } : null);
        }}
        onPointerUp={(e) => {
          const d = drag.current;
          drag.current = null;
          if (d && !d.moved) {
            const n = pick(e.clientX, e.clientY);
            if (n?.kind === 'peer' && n.nodeId !== undefined) onOpenPeer(n.nodeId);
          }
        }}
        onPointerLeave={() => {
          hover.current = null;
          setTip(null);
          draw.current();
        }}
      />
      {tip && (
        <div className="tip" style={{ left: tip.x, top: tip.y }}>
          <b>{tip.n.label}</b>
          {tip.n.kind === 'peer' && (
            <span className="dim">
              {' '}
              · {tip.n.path} · {formatMs(tip.n.nodeId !== undefined && rttOf ? rttOf(tip.n.nodeId) : tip.n.rttMs)}
            </span>
          )}
          {tip.n.kind === 'group' && <span className="dim"> · {tip.n.size} peers</span>}
        </div>
      )}
      <button
        className="btn small ghost fit"
        onClick={() => {
          autoFit.current = true;
          fitRef.current();
          draw.current();
        }}
        title="fit the whole graph in view"
      >
        fit
      </button>
      <div className="legend">
        <span>
          <i style={{ background: COLORS.direct }} />
          direct
        </span>
        <span>
          <i style={{ background: COLORS.punched }} />
          punched
        </span>
        <span>
          <i style={{ background: COLORS.relay }} />
          relay
        </span>
        <span>
          <i style={{ background: COLORS.group }} />
          group
        </span>
      </div>
    </div>
  );
}
