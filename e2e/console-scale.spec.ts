/**
 * The web console attached to a REAL fleet (bench/fleet-run.ts: one backbone process and
 * PILOT_SCALE_NODES real nodes, default 100, packed into worker processes). The console's node joins
 * every group of the fleet (so each member answers its fleet queries), then Chromium drives the
 * page: the fleet table lists every member, the filter narrows it, sorting and opening a peer work,
 * and the path matrix comes aggregated by group (hundreds of members: no grid of N² cells).
 *
 * Behaviour is asserted; speed is not (no timing assertion). Each interaction is timed in the page
 * (performance.now() from the event to the first animation frame whose DOM shows the result) and
 * the medians are written to test-results/console-scale.json for BENCHMARKS.md ("Console at 500
 * peers"): `PILOT_SCALE_NODES=500 npx playwright test -c e2e/playwright.config.ts console-scale`.
 */
import { expect, test, type Page } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { WebSocket } from 'ws';
import { FLEET_DEFAULTS, runFleet, type Fleet } from '../bench/fleet-run';

const root = path.resolve(import.meta.dirname, '..');
const pilotctl = path.join(root, 'bin', 'pilotctl.mjs');
const NODES = Number(process.env['PILOT_SCALE_NODES'] ?? 100);
const REPEATS = Number(process.env['PILOT_SCALE_REPEATS'] ?? 5);
const GROUPS = 10;
let fleet: Fleet | undefined;
let home: string;
let proc: ChildProcess | undefined;
let url: string;
const figures: Record<string, number[]> = {};

test.describe.configure({ mode: 'serial', timeout: 300_000 });

test.beforeAll(async () => {
  test.setTimeout(900_000);
  fleet = await runFleet({
    ...FLEET_DEFAULTS,
    nodes: NODES,
    workers: NODES > 200 ? 4 : 2,
    coordinators: 2,
    tasksPerCoordinator: 2,
    groups: GROUPS,
    leaveEvery: 1_000_000, // nobody leaves (but node 0, the creator, leaves one of its groups)
    lookupsPerNode: 1,
    heartbeatMs: 5000,
    holdMs: 0,
    taskWaitMs: 60_000,
  });
  home = mkdtempSync(path.join(tmpdir(), 'pilot-console-scale-'));
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, PILOT_HOME: path.join(home, '.pilot'), PILOT_SOCKET: path.join(home, 'pilot.sock'), NO_COLOR: '1' };
  delete env['PILOT_REGISTRY'];
  const { registry, beacon } = fleet.report;
  proc = spawn(process.execPath, [pilotctl, '--json', 'console', '--port', '0', '--registry', registry, '--beacon', beacon], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const p = proc;
  url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: p.stdout! }).on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { status?: string; data?: { url?: string } };
        if (msg.status === 'ok' && msg.data?.url) resolve(msg.data.url);
      } catch {
        // not the envelope
      }
    });
    p.once('exit', (code) => reject(new Error(`pilotctl console exited (${code}): ${stderr.slice(-2000)}`)));
  });
  // The console's node joins every group of the fleet (open groups): fellow members answer its fleet queries.
  const api = await apiClient(url);
  try {
    const groups = (await api.call('groups.list', {})) as { name: string; joined: boolean }[];
    const fleetGroups = groups.filter((g) => /^fleet-[a-z0-9]+-g\d+$/.test(g.name));
    expect(fleetGroups).toHaveLength(GROUPS);
    for (const g of fleetGroups) await api.call('groups.join', { name: g.name });
  } finally {
    api.close();
  }
});

test.afterAll(async () => {
  test.setTimeout(120_000);
  const summary: Record<string, { median: number; p90: number; n: number }> = {};
  for (const [k, xs] of Object.entries(figures)) {
    const s = [...xs].sort((a, b) => a - b);
    summary[k] = { median: round(s[Math.floor(s.length / 2)]!), p90: round(s[Math.min(s.length - 1, Math.floor(s.length * 0.9))]!), n: s.length };
  }
  if (Object.keys(summary).length) {
    const out = path.join(root, 'test-results');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'console-scale.json'), JSON.stringify({ nodes: NODES, repeats: REPEATS, at: new Date().toISOString(), summary, samples: figures }, null, 2));
    console.log(`console at ${NODES} peers (ms, in-page, median / p90 of ${REPEATS}):`);
    for (const [k, v] of Object.entries(summary)) console.log(`  ${k}: ${v.median} / ${v.p90}`);
  }
  if (proc && proc.exitCode === null) {
    const exited = new Promise((r) => proc!.once('exit', r));
    proc.kill('SIGINT');
    const timer = setTimeout(() => proc!.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
  await fleet?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

const round = (x: number): number => Math.round(x * 10) / 10;

function record(name: string, ms: number): void {
  (figures[name] ??= []).push(ms);
}

/** A minimal client of the console's WebSocket API (the same envelopes the renderer sends). */
async function apiClient(pageUrl: string): Promise<{ call(method: string, params: unknown): Promise<unknown>; close(): void }> {
  const u = new URL(pageUrl);
  const ws = new WebSocket(`ws://${u.host}/api?token=${encodeURIComponent(u.searchParams.get('token') ?? '')}`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let next = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as { id?: number; ok?: boolean; result?: unknown; error?: { message?: string } };
    if (m.id === undefined) return;
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.ok) w.resolve(m.result);
    else w.reject(new Error(m.error?.message ?? 'console API error'));
  });
  return {
    call(method, params) {
      const id = next++;
      ws.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
    },
    close: () => ws.close(),
  };
}

/**
 * Runs `act` in the page and resolves with the milliseconds until the first animation frame in
 * which `done` holds (both are function bodies evaluated in the page; `arg` is passed to both).
 */
async function timed(page: Page, act: string, done: string, arg: unknown = null): Promise<number> {
  // A string, run in the page (this file is type-checked without the DOM's types).
  return page.evaluate(`(async () => {
    const arg = ${JSON.stringify(arg)};
    const q = (sel) => document.querySelector(sel);
    const setInput = (el, v) => {
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(el, v);
      el.dispatchEvent(new Event('input', { bubbles: true }));
    };
    const done = () => { ${done} };
    const t0 = performance.now();
    ${act};
    return await new Promise((resolve, reject) => {
      const tick = () => {
        if (done()) resolve(performance.now() - t0);
        else if (performance.now() - t0 > 20000) reject(new Error('never done: ' + ${JSON.stringify(done)}));
        else requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
  })()`) as Promise<number>;
}

/** Gaps between animation frames over `ms` (how smooth the page stays meanwhile). */
function frameGaps(page: Page, ms: number): Promise<number[]> {
  return page.evaluate(`new Promise((resolve) => {
    const gaps = [];
    let last = performance.now();
    const end = last + ${ms};
    const tick = (t) => {
      gaps.push(t - last);
      last = t;
      if (t < end) requestAnimationFrame(tick);
      else resolve(gaps);
    };
    requestAnimationFrame(tick);
  })`) as Promise<number[]>;
}

async function openFleet(page: Page): Promise<void> {
  await page.goto(url + '#/fleet');
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-status', 'open');
  await expect(page.getByTestId('fleet-total')).toHaveText(String(NODES), { timeout: 120_000 });
}

test(`the fleet table lists all ${NODES} members; filter, sort and opening a peer work`, async ({ page }) => {
  // What the node pushes to the page meanwhile (the live load the interactions compete with).
  const pushed: Record<string, number> = {};
  page.on('websocket', (ws) =>
    ws.on('framereceived', (f) => {
      try {
        const m = JSON.parse(String(f.payload)) as { event?: string };
        if (m.event) pushed[m.event] = (pushed[m.event] ?? 0) + 1;
      } catch {
        // not JSON
      }
    }),
  );
  const counted = Date.now();
  await openFleet(page);
  // PILOT_SCALE_PROFILE=1: a CPU profile of the page over the interactions (test-results/console-scale.cpuprofile).
  const cdp = process.env['PILOT_SCALE_PROFILE'] ? await page.context().newCDPSession(page) : undefined;
  if (cdp) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.start');
  }
  await expect(page.getByTestId('peer-count')).toHaveText(String(NODES));
  // Hostnames are PREFIX-000 … PREFIX-(N-1); the filter narrows to the ones that contain "-01".
  const first = (await page.locator('[data-testid^="peer-row-"] .host').first().textContent()) ?? '';
  const prefix = first.replace(/-\d+$/, '');
  expect(prefix).toMatch(/^fleet-[a-z0-9]+$/);
  const width = String(NODES - 1).length;
  const needle = `${prefix}-${'0'.repeat(width - 1)}1`; // PREFIX-001: exactly one member (or -01 for < 100)
  for (let i = 0; i < REPEATS; i++) {
    record('filter (type a hostname: N rows → 1)', await timed(page, 'setInput(q(\'[data-testid="peer-filter"]\'), arg)', `return q('[data-testid="peer-count"]')?.textContent === '1 of ${NODES}'`, needle));
    record('clear the filter (1 row → N)', await timed(page, 'setInput(q(\'[data-testid="peer-filter"]\'), "")', `return q('[data-testid="peer-count"]')?.textContent === '${NODES}'`));
  }
  await page.getByTestId('peer-filter').fill(needle);
  await expect(page.locator('[data-testid^="peer-row-"]')).toHaveCount(1);
  await expect(page.locator('[data-testid^="peer-row-"] .host')).toHaveText(needle);
  await page.getByTestId('peer-filter').fill('');
  await expect(page.getByTestId('peer-count')).toHaveText(String(NODES));

  // Sort by hostname: ascending puts PREFIX-000 first, descending PREFIX-(N-1); each click flips it.
  const ends = { lo: `${prefix}-${'0'.repeat(width)}`, hi: `${prefix}-${String(NODES - 1).padStart(width, '0')}` };
  const sortedByName = `const s = q('[data-testid="sort-name"]')?.textContent ?? '';
    const h = q('[data-testid="peer-table"] [data-testid^="peer-row-"] .host')?.textContent;
    return s.includes('▲') ? h === arg.lo : s.includes('▼') ? h === arg.hi : false;`;
  for (let i = 0; i < REPEATS * 2; i++) record('sort by hostname (click the column; first row checked)', await timed(page, 'q(\'[data-testid="sort-name"]\').click()', sortedByName, ends));
  await page.getByTestId('sort-name').click();
  const arrow = (await page.getByTestId('sort-name').textContent()) ?? '';
  await expect(page.locator('[data-testid="peer-table"] [data-testid^="peer-row-"] .host').first()).toHaveText(arrow.includes('▲') ? ends.lo : ends.hi);
  for (let i = 0; i < REPEATS * 2; i++) {
    const before = (await page.getByTestId('sort-rtt').textContent()) ?? '';
    const want = before.includes('▲') ? '▼' : '▲';
    record('sort by RTT (click the column)', await timed(page, 'q(\'[data-testid="sort-rtt"]\').click()', 'return (q(\'[data-testid="sort-rtt"]\')?.textContent ?? "").includes(arg)', want));
  }

  // Open a peer (row click → the Peer view with its title), then back to the fleet.
  for (let i = 0; i < REPEATS; i++) {
    const rowHost = (await page.locator('[data-testid="peer-table"] [data-testid^="peer-row-"] .host').nth(i).textContent()) ?? '';
    record('open a peer (row click → Peer view)', await timed(page, `document.querySelectorAll('[data-testid="peer-table"] [data-testid^="peer-row-"]')[${i}].click()`, 'return q(\'[data-testid="peer-title"]\')?.textContent === arg', rowHost));
    await expect(page.getByTestId('peer-title')).toHaveText(rowHost);
    record('back to the fleet (Peer view → table of N)', await timed(page, 'history.back()', `return q('[data-testid="peer-count"]')?.textContent === '${NODES}'`));
  }
  if (cdp) {
    const { profile } = await cdp.send('Profiler.stop');
    mkdirSync(path.join(root, 'test-results'), { recursive: true });
    writeFileSync(path.join(root, 'test-results', 'console-scale.cpuprofile'), JSON.stringify(profile));
  }
  const secs = (Date.now() - counted) / 1000;
  for (const [k, n] of Object.entries(pushed)) record(`events pushed per second: ${k}`, n / secs);
});

test(`the path matrix of ${NODES + 1} members is aggregated by group; the topology draws every member`, async ({ page }) => {
  await openFleet(page);
  await page.getByTestId('fleet-mode-matrix').click();
  // The console node sweeps every member (their peer tables); all answer (they share a group with it).
  await expect(page.getByTestId('matrix-aggregate')).toBeVisible({ timeout: 180_000 });
  await expect(page.getByTestId('fleet-matrix')).toHaveAttribute('data-members', String(NODES + 1));
  await expect(page.getByTestId('matrix-grid')).toHaveCount(0);
  await expect(page.getByTestId('pair-table')).toHaveCount(0);
  const pairs = ((NODES + 1) * NODES) / 2;
  await expect(page.getByTestId('census-pairs')).toHaveText(String(pairs));
  await expect(page.locator('[data-testid^="group-cell-"]').first()).toBeVisible();
  // Every member answered (each shares a group with the console's node).
  await expect.poll(async () => page.getByTestId('fleet-census').textContent(), { timeout: 180_000 }).toContain(`${NODES + 1} members, ${NODES + 1} answered`);
  const cells = await page.locator('[data-testid^="group-cell-"]').count();
  expect(cells).toBeGreaterThan(1);
  expect(cells).toBeLessThanOrEqual(((GROUPS + 2) * (GROUPS + 1)) / 2);
  for (let i = 0; i < REPEATS; i++) {
    record('Peers → Path matrix (aggregate drawn)', await timed(page, 'q(\'[data-testid="fleet-mode-matrix"]\').click()', 'return !!q(\'[data-testid="matrix-aggregate"]\')'));
    // Back to Peers: the table shows rows and the topology has drawn a new frame of every member.
    record(
      'Path matrix → Peers (table rows + a topology frame drawn)',
      await timed(
        page,
        'window.__draws = Number(q(\'[data-testid="topology"] canvas\')?.dataset.draws ?? 0); q(\'[data-testid="fleet-mode-peers"]\').click()',
        `const c = q('[data-testid="topology"] canvas');
        return !!c && c.offsetWidth > 0 && c.dataset.drawnPeers === arg && Number(c.dataset.draws) > window.__draws && !!q('[data-testid="peer-table"] [data-testid^="peer-row-"]');`,
        String(NODES),
      ),
    );
  }
  // The topology draws every member; while its layout settles, frames keep coming: the Fleet view
  // loaded afresh, its first frame drawn, then 3 s of frames while the force layout runs.
  await page.reload();
  await expect(page.locator('[data-testid="topology"] canvas')).toHaveAttribute('data-drawn-peers', String(NODES), { timeout: 60_000 });
  const frames = await frameGaps(page, 3000);
  for (const g of frames) record('topology: frame interval in the 3 s after the Fleet view loads', g);
  record('topology: longest frame in those 3 s', Math.max(...frames));
  expect(frames.length).toBeGreaterThan(10);
  // The console node's sweep of every member's peer table (fleet query over real tunnels), timed from the API.
  const api = await apiClient(url);
  try {
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const m = (await api.call('fleet.matrix', { refresh: true })) as { members: { answered: boolean }[]; aggregated: boolean };
      record('fleet.matrix sweep of every member (node side, over the WebSocket API)', performance.now() - t0);
      expect(m.aggregated).toBe(true);
      expect(m.members.filter((x) => x.answered)).toHaveLength(NODES + 1);
    }
  } finally {
    api.close();
  }
});
