/**
 * The web console against REAL processes: `pilotctl console` runs a node with an embedded backbone
 * and a demo fleet of three real daemons; Chromium drives the page. Waits on readiness (the URL the
 * command prints, then what the page shows), never on sleeps.
 */
import { expect, test, type Page } from '@playwright/test';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

const root = path.resolve(import.meta.dirname, '..');
// Screenshots of each main view, taken from the real fleet; the README shows them.
const shots = path.join(root, 'docs', 'screenshots');
const shot = (page: Page, name: string): Promise<Buffer> => page.screenshot({ path: path.join(shots, `${name}.png`) });
const pilotctl = path.join(root, 'bin', 'pilotctl.mjs');
let home: string;
let proc: ChildProcess;
let url: string;
let env: NodeJS.ProcessEnv;

test.describe.configure({ mode: 'serial', timeout: 90_000 });

test.beforeAll(async () => {
  test.setTimeout(180_000);
  home = mkdtempSync(path.join(tmpdir(), 'pilot-console-e2e-'));
  env = { ...process.env, HOME: home, PILOT_HOME: path.join(home, '.pilot'), PILOT_SOCKET: path.join(home, 'pilot.sock'), NO_COLOR: '1' };
  delete env['PILOT_REGISTRY'];
  proc = spawn(process.execPath, [pilotctl, '--json', 'console', '--port', '0'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: proc.stdout! });
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { status?: string; data?: { url?: string } };
        if (msg.status === 'ok' && msg.data?.url) resolve(msg.data.url);
      } catch {
        // not the envelope
      }
    });
    proc.once('exit', (code) => reject(new Error(`pilotctl console exited (${code}): ${stderr.slice(-2000)}`)));
  });
});

test.afterAll(async () => {
  if (proc && proc.exitCode === null) {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGINT');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
  if (home) rmSync(home, { recursive: true, force: true });
});

async function open(page: Page, hash = '#/fleet'): Promise<void> {
  await page.goto(url + hash);
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-status', 'open');
}

const row = (page: Page, hostname: string) => page.locator('[data-testid^="peer-row-"]', { hasText: hostname });

test('the fleet view lists the demo fleet from the node', async ({ page }) => {
  await open(page);
  for (const h of ['specialist-papers', 'specialist-fx', 'specialist-news']) await expect(row(page, h)).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('node-address')).toHaveText(/^0:0000\.0000\.[0-9A-F]{4}$/i);
  // The console probes its fleet in the background: paths and RTTs appear without a click.
  for (const h of ['specialist-papers', 'specialist-fx', 'specialist-news']) await expect(row(page, h)).toContainText('direct', { timeout: 30_000 });
  await shot(page, 'fleet');
  await page.getByTestId('peer-filter').fill('specialist-fx');
  await expect(page.locator('[data-testid^="peer-row-"]')).toHaveCount(1);
});

test('the node view: identity, path counts and a real netcheck (no NAT on loopback)', async ({ page }) => {
  await open(page);
  await page.getByTestId('nav-node').click();
  await expect(page).toHaveURL(/#\/node$/);
  const address = (await page.getByTestId('node-address').textContent()) ?? '';
  await expect(page.getByTestId('self-address')).toHaveText(address);
  await expect(page.getByTestId('self-fingerprint')).toHaveText(/^[0-9A-Za-z+/=]{4}( [0-9A-Za-z+/=]{1,4})+$/);
  await expect(page.getByTestId('self-tunnel-endpoint')).toHaveText(/:\d+$/);
  // The demo fleet is on loopback: every peer is direct, counted live from the peer table.
  await expect.poll(async () => Number(await page.getByTestId('self-path-direct').textContent()), { timeout: 30_000 }).toBeGreaterThanOrEqual(3);
  await expect(page.getByTestId('self-tunnels')).not.toHaveText('0');
  await expect(page.getByTestId('netcheck-panel')).toHaveAttribute('data-state', 'idle');

  await page.getByTestId('netcheck-run').click();
  await expect(page.getByTestId('netcheck-panel')).toHaveAttribute('data-state', 'ok', { timeout: 15_000 });
  // 127.0.0.1 is this machine's own address: the beacon sees the tunnel socket itself, no NAT.
  await expect(page.getByTestId('netcheck-nat-type')).toHaveAttribute('data-nat-type', 'none');
  await expect(page.getByTestId('netcheck-nat-type')).toHaveText('none');
  await expect(page.getByTestId('netcheck-reach')).toHaveText('direct');
  await expect(page.getByTestId('netcheck-explanation')).toContainText('directly');
  const local = (await page.getByTestId('netcheck-local').textContent()) ?? '';
  const port = local.split(':').pop();
  await expect(page.getByTestId('netcheck-public')).toHaveText(new RegExp(`^127\\.0\\.0\\.1:${port}$`));
  // The embedded backbone runs the netcheck reflector too; both see the same mapping.
  await expect(page.getByTestId('netcheck-mapping')).toHaveAttribute('data-mapping', 'endpoint-independent');
  await expect(page.getByTestId('netcheck-public-alt')).toHaveText(new RegExp(`^127\\.0\\.0\\.1:${port}$`));
  await expect(page.getByTestId('netcheck-last-run')).toContainText('last run');
  await expect(page.getByTestId('netcheck-error')).toHaveCount(0);
  // The node records what the beacon saw: the reloaded node.info carries it as the public endpoint.
  await expect(page.getByTestId('self-public-endpoint')).toHaveText(new RegExp(`^127\\.0\\.0\\.1:${port}$`));
  await expect(page.getByTestId('nav-node')).toContainText('NAT none');
  await shot(page, 'node');
});

test('clicking a peer and Ping streams real replies with their path; the inspector shows counters', async ({ page }) => {
  await open(page);
  await row(page, 'specialist-fx').click();
  await expect(page.getByTestId('peer-title')).toHaveText('specialist-fx');
  await page.getByTestId('ping-button').click();
  await expect(page.getByTestId('ping-received')).toHaveText('10/10', { timeout: 30_000 });
  await expect(page.getByTestId('ping-path')).toHaveAttribute('data-path', /^(direct|punched|relay)$/);
  const rtt = Number(await page.getByTestId('ping-rtt').getAttribute('data-rtt-ms'));
  expect(rtt).toBeGreaterThan(0);
  await expect(page.getByTestId('inspector-counters')).toBeVisible();
  await expect.poll(async () => Number((await page.getByTestId('counter-frames-in').textContent())?.replace(/\D/g, '') || 0)).toBeGreaterThan(0);
  await shot(page, 'peer');
});

test('groups: live counts, create, leave and join with clicks', async ({ page }) => {
  await open(page, '#/groups');
  await expect(page.getByTestId('group-row-research')).toBeVisible({ timeout: 30_000 });
  await expect.poll(async () => Number(await page.getByTestId('group-count-research').textContent())).toBeGreaterThanOrEqual(2);
  const name = `e2e-${Date.now().toString(36)}`;
  await page.getByTestId('group-create-name').fill(name);
  await page.getByTestId('group-create-submit').click();
  await expect(page.getByTestId(`group-row-${name}`)).toBeVisible();
  await expect(page.getByTestId(`group-count-${name}`)).toHaveText('1');
  await page.getByTestId(`group-leave-${name}`).click();
  await expect(page.getByTestId(`group-join-${name}`)).toBeVisible();
  await expect(page.getByTestId(`group-count-${name}`)).toHaveText('0');
  await page.getByTestId(`group-join-${name}`).click();
  await expect(page.getByTestId(`group-leave-${name}`)).toBeVisible();
  await expect(page.getByTestId(`group-count-${name}`)).toHaveText('1');
  await shot(page, 'groups');
});

test('a trust request from a real outsider shows as a notification and is approved with a click', async ({ page }) => {
  await open(page);
  // Group members are trusted through the group; an outsider daemon (no shared group) has to ask.
  const card = page.getByTestId('node-card');
  await expect(card).toHaveAttribute('data-beacon', /:\d+$/);
  const node = { address: (await page.getByTestId('node-address').textContent()) ?? '', registry: (await card.getAttribute('data-registry')) ?? '', beacon: (await card.getAttribute('data-beacon')) ?? '' };
  const outEnv = { ...env, PILOT_HOME: path.join(home, 'outsider'), PILOT_SOCKET: path.join(home, 'outsider.sock') };
  const outsider = spawn(process.execPath, [pilotctl, '--json', 'daemon', 'start', '--foreground', '--registry', node.registry, '--beacon', node.beacon, '--hostname', 'outsider', '--listen', '127.0.0.1:0'], { cwd: root, env: outEnv, stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('outsider daemon did not become ready')), 30_000);
      createInterface({ input: outsider.stdout! }).once('line', () => {
        clearTimeout(timer);
        resolve();
      });
      outsider.once('exit', (code) => reject(new Error(`outsider daemon exited (${code})`)));
    });
    const r = spawnSync(process.execPath, [pilotctl, '--json', 'handshake', node.address, 'e2e: please trust me'], { cwd: root, env: outEnv, encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const toast = page.locator('[data-testid^="trust-request-"]', { hasText: 'please trust me' });
    await expect(toast).toBeVisible({ timeout: 20_000 });
    const id = (await toast.getAttribute('data-testid'))?.replace('trust-request-', '') ?? '';
    await shot(page, 'trust');
    await page.getByTestId(`trust-approve-${id}`).click();
    await expect(page.getByTestId(`trust-request-${id}`)).toHaveCount(0);
    await expect(page.getByTestId('call-failure')).toHaveCount(0);
  } finally {
    const exited = new Promise((r) => outsider.once('exit', r));
    outsider.kill('SIGINT');
    const timer = setTimeout(() => outsider.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
});

test('traces: the ping collected from the nodes it touched, drawn in lanes per node with clock offsets; logs filter by level', async ({ page }) => {
  await open(page, '#/traces');
  // The trace whose root span is the ping (the node records other traces too: registry calls, dials).
  const ping = page.getByTestId('trace-list').locator('a.titem', { has: page.locator('.tname', { hasText: /^ping$/ }) }).first();
  await expect(ping).toBeVisible({ timeout: 20_000 });
  await ping.click();
  // Opening a trace collects it: this node's lane (the ping's spans) and the pinged peer's lane,
  // which answered the trace query (a fellow group member) with its clock offset.
  const lanes = page.getByTestId('lane-waterfall');
  await expect(lanes).toContainText('echo', { timeout: 20_000 });
  await expect(lanes.locator('.wf-lane')).toHaveCount(2);
  await expect(lanes.locator('.wf-lane').first()).toContainText('this node');
  await expect(lanes.locator('.wf-lane').nth(1).getByTestId('lane-offset')).toContainText(/clock offset [+−]\d/);
  await expect(lanes.locator('.wf-lane').nth(1)).not.toContainText('refused');
  await lanes.locator('[data-testid^="lane-span-"]', { hasText: 'echo' }).first().click();
  await expect(page.getByTestId('span-details')).toContainText('echo');
  await expect(page.getByTestId('waterfall-summary')).toContainText('2 nodes · collected');
  await page.getByTestId('nav-logs').click();
  await expect(page.getByTestId('log-line').first()).toBeVisible();
  await shot(page, 'logs');
  await page.getByTestId('log-level-error').click();
  await expect(page.locator('[data-testid="log-line"]:not([data-level="error"])')).toHaveCount(0);
});

test('a task submitted to a fleet member is one trace: spans from both nodes, each in its own lane', async ({ page }) => {
  // The console's node serves the IPC socket too: pilotctl submits through it (trace context goes with the task).
  const r = spawnSync(process.execPath, [pilotctl, '--json', 'task', 'submit', 'specialist-news', '--task', 'e2e: summarise the feed'], { cwd: root, env, encoding: 'utf8', timeout: 30_000 });
  expect(r.status, r.stderr + r.stdout).toBe(0);
  const traceId = (JSON.parse(r.stdout) as { data: { trace_id: string } }).data.trace_id;
  expect(traceId).toMatch(/^[0-9a-f]{32}$/);
  await open(page, `#/traces/${traceId}`);
  const lanes = page.getByTestId('lane-waterfall').locator('.wf-lane');
  await expect(async () => {
    await page.getByTestId('collect-trace').click();
    await expect(lanes.nth(1)).toContainText('task.receive', { timeout: 2000 });
  }).toPass({ timeout: 20_000 });
  await expect(lanes).toHaveCount(2);
  await expect(lanes.first()).toContainText('task.submit');
  await expect(lanes.nth(1)).toContainText('specialist-news');
  await expect(lanes.nth(1).getByTestId('lane-offset')).toContainText(/clock offset [+−]\d/);
  await lanes.nth(1).locator('[data-testid^="lane-span-"]', { hasText: 'task.receive' }).click();
  await expect(page.getByTestId('span-details')).toContainText('clock offset');
  await shot(page, 'traces');
});

test('tasks flow on their own: the demo workload submits by capability, specialists serve, a citation’s trace spans three nodes', async ({ page }) => {
  await open(page, '#/tasks');
  await expect(page.getByTestId('demo-bar')).toHaveAttribute('data-paused', 'false');
  // No click: the coordinator's workload submits and the specialists' agents answer.
  const done = (text: string) => page.locator('[data-testid^="task-row-"][data-category="submitted"][data-state="done"]', { hasText: text }).first();
  for (const kind of ['cite:', 'rates:', 'headlines:']) await expect(done(kind)).toBeVisible({ timeout: 45_000 });
  const cite = done('cite:');
  await expect(cite).toContainText('specialist-papers');
  await expect(cite.locator('td').nth(5)).toHaveText(/\d+(\.\d+)?(ms|s)$/);
  await shot(page, 'tasks');
  // The citation asked specialist-news for context in a sub-task: one trace over three nodes.
  await cite.getByTestId('task-trace').click();
  await expect(page).toHaveURL(/#\/traces\/[0-9a-f]{32}$/);
  const lanes = page.getByTestId('lane-waterfall').locator('.wf-lane');
  await expect(async () => {
    await page.getByTestId('collect-trace').click();
    await expect(lanes).toHaveCount(3, { timeout: 3000 });
    await expect(page.getByTestId('lane-waterfall')).toContainText('task.send_results', { timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  await expect(lanes.first()).toContainText('task.submit');
  await expect(page.getByTestId('lane-waterfall')).toContainText('specialist-papers');
  await expect(page.getByTestId('lane-waterfall')).toContainText('specialist-news');
  // The workload pauses and resumes from the console.
  await page.getByTestId('nav-tasks').click();
  await page.getByTestId('demo-pause').click();
  await expect(page.getByTestId('demo-bar')).toHaveAttribute('data-paused', 'true');
  await expect(page.getByTestId('demo-bar')).toContainText('paused');
  await page.getByTestId('demo-pause').click();
  await expect(page.getByTestId('demo-bar')).toHaveAttribute('data-paused', 'false');
});

test('path matrix: every pair of the demo fleet with its path; a probe from one specialist to another returns an RTT, a throughput and a traceroute; a pair timeline', async ({ page }) => {
  const specialists = ['specialist-papers', 'specialist-fx', 'specialist-news'];
  // A probe runs on the member's side: specialist-papers must trust the console's node first.
  const r = spawnSync(process.execPath, [pilotctl, '--json', 'handshake', 'specialist-papers', 'e2e: fleet probes'], { cwd: root, env, encoding: 'utf8', timeout: 30_000 });
  expect(r.status, r.stderr + r.stdout).toBe(0);
  const info = spawnSync(process.execPath, [pilotctl, '--json', 'info'], { cwd: root, env, encoding: 'utf8', timeout: 30_000 });
  const consoleId = (JSON.parse(info.stdout) as { data: { node_id: number } }).data.node_id;
  const papersEnv = { ...env, PILOT_SOCKET: path.join(home, '.pilot', 'demo-fleet', 'specialist-papers.sock') };
  await expect
    .poll(() => spawnSync(process.execPath, [pilotctl, '--json', 'approve', String(consoleId)], { cwd: root, env: papersEnv, encoding: 'utf8', timeout: 30_000 }).status, { timeout: 20_000 })
    .toBe(0);

  await open(page);
  await page.getByTestId('fleet-mode-matrix').click();
  const pairRow = (x: string, y: string) => page.locator('[data-testid^="pair-row-"]', { hasText: x }).filter({ hasText: y });
  // Every two specialists (whatever their path: a pair that never talked has none), each answering with its table.
  for (let i = 0; i < specialists.length; i++) {
    for (let j = i + 1; j < specialists.length; j++) {
      await expect(pairRow(specialists[i]!, specialists[j]!)).toHaveAttribute('data-path', /^(direct|punched|relay|none)$/, { timeout: 30_000 });
    }
  }
  // The console's node and each specialist: direct on loopback (the console probes them).
  const self = (await page.getByTestId('node-address').textContent()) ?? '';
  expect(self).not.toBe('');
  for (const s of specialists) await expect(page.locator(`[data-testid^="pair-row-${consoleId}-"], [data-testid$="-${consoleId}"]`).filter({ hasText: s })).toHaveAttribute('data-path', 'direct', { timeout: 30_000 });
  await expect(page.getByTestId('census-direct')).not.toHaveText('0');

  // A pair's history: its timeline over the last hour.
  await pairRow('specialist-papers', 'specialist-news').click();
  await expect(page.getByTestId('pair-timeline')).toBeVisible();
  // Why this pair is on its path, as its first member tells it (asked over the fleet query).
  await page.getByTestId('why-button').click();
  await expect(page.getByTestId('why-step-nat')).toBeVisible({ timeout: 20_000 });
  await expect(page.getByTestId('why-step-now')).toContainText('direct');
  await expect(page.locator('[data-testid="why-step-establish"], [data-testid="why-step-missing"]').first()).toBeVisible();

  // A probe from specialist-papers to specialist-news.
  await page.getByTestId('probe-from').selectOption({ label: 'specialist-papers' });
  await page.getByTestId('probe-to').selectOption({ label: 'specialist-news' });
  await page.getByTestId('probe-button').click();
  await expect(page.getByTestId('probe-result')).toBeVisible({ timeout: 30_000 });
  expect(Number(await page.getByTestId('probe-result').getAttribute('data-rtt-ms'))).toBeGreaterThan(0);
  await expect(page.getByTestId('probe-result')).toHaveAttribute('data-path', /^(direct|punched|relay)$/);
  // A short throughput test between the same two: 1 MiB through specialist-news's echo port and back.
  await page.getByTestId('probe-mode').selectOption('throughput');
  await page.getByTestId('probe-button').click();
  await expect(page.getByTestId('probe-throughput')).toBeVisible({ timeout: 60_000 });
  expect(Number(await page.getByTestId('probe-throughput').getAttribute('data-mbit'))).toBeGreaterThan(0);
  // A traceroute from specialist-papers to specialist-news: the dial timed, the hop, the round trips.
  await page.getByTestId('probe-mode').selectOption('traceroute');
  await page.getByTestId('probe-button').click();
  await expect(page.getByTestId('probe-traceroute')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('probe-traceroute')).toHaveAttribute('data-path', /^(direct|punched|relay)$/);
  expect(Number(await page.getByTestId('probe-traceroute').getAttribute('data-setup-ms'))).toBeGreaterThan(0);
  await expect(page.getByTestId('probe-hop-1')).toContainText('specialist-news');
  await expect(page.getByTestId('probe-traceroute')).toContainText('round trips over the stream');

  await shot(page, 'matrix');
});

test('why this path: the story of the console node\'s tunnel to a specialist names the stages', async ({ page }) => {
  await open(page);
  await row(page, 'specialist-fx').click();
  await expect(page.getByTestId('peer-title')).toHaveText('specialist-fx');
  await page.getByTestId('why-button').click();
  const steps = page.getByTestId('why-steps');
  await expect(steps).toBeVisible({ timeout: 20_000 });
  for (const stage of ['nat', 'establish', 'endpoints', 'key_exchange', 'established', 'now']) await expect(page.getByTestId(`why-step-${stage}`)).toBeVisible();
  // The endpoint the dial tried: the specialist's registered one (or the one its packets came from), on loopback; it answered.
  await expect(page.getByTestId('why-step-endpoints')).toContainText(/127\.0\.0\.1:\d+: the (registered endpoint \(from the registry\)|endpoint this node already knew [^,]*), tried at \d+ ms; answered/);
  await expect(page.getByTestId('why-step-nat')).toContainText('no NAT');
  await expect(page.getByTestId('why-step-established')).toContainText('direct');
  await page.getByTestId('why-panel').scrollIntoViewIfNeeded();
  await shot(page, 'why');
});
