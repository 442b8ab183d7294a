/**
 * Layout smoke test over the DEVELOPMENT FIXTURE (scripts/dev-fixture.ts, made-up data): each
 * view renders, the peer table stays virtualised at 1,000 peers, and screenshots land in
 * test-results/fixture-screenshots/ to be looked at. It proves layout only; features are tested
 * against real daemons.
 */
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createDevFixtureService, type DevFixtureService } from '../scripts/dev-fixture';
import { startWebConsole, type WebConsole } from '../main/console/web-server';

const root = path.resolve(import.meta.dirname, '..');
// Layout screenshots over the development fixture (1,000 synthetic peers) go to test-results/, not
// docs/: the README shows the screenshots the real-fleet suite takes.
const shots = path.join(root, 'test-results', 'fixture-screenshots');
let service: DevFixtureService;
let web: WebConsole;

test.beforeAll(async () => {
  if (!existsSync(path.join(root, 'out/renderer/index.html'))) {
    execFileSync(process.execPath, [path.join(root, 'node_modules/electron-vite/bin/electron-vite.js'), 'build'], { cwd: root, stdio: 'inherit' });
  }
  mkdirSync(shots, { recursive: true });
  service = createDevFixtureService({ peers: 1000, seed: 7, live: true });
  web = await startWebConsole({ service, staticDir: path.join(root, 'out/renderer') });
});

test.afterAll(async () => {
  service.close();
  await web.close();
});

test('fleet view: 1,000 peers in a virtualised table, topology, filters', async ({ page }) => {
  await page.goto(web.url);
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-status', 'open');
  await expect(page.getByTestId('fleet-total')).toHaveText('1000');
  const rows = page.locator('[data-testid^="peer-row-"]');
  await expect(rows.first()).toBeVisible();
  // Virtualised: a screenful of rows exists in the DOM, not a thousand.
  expect(await rows.count()).toBeLessThan(80);
  await page.waitForTimeout(2500); // let the force layout settle for the picture
  await page.screenshot({ path: path.join(shots, 'fleet.png') });
  await page.getByTestId('peer-filter').fill('gpu');
  await expect(page.getByTestId('peer-count')).toContainText('of 1000');
  await page.getByTestId('filter-path-relay').click();
  await page.waitForTimeout(1500);
  await page.screenshot({ path: path.join(shots, 'fleet-filtered.png') });
});

test('path matrix: 1,001 members aggregated by group, a made-up traceroute; why this path names the endpoints tried', async ({ page }) => {
  await page.goto(web.url);
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-status', 'open');
  await page.getByTestId('fleet-mode-matrix').click();
  await expect(page.getByTestId('matrix-aggregate')).toBeVisible();
  await expect(page.getByTestId('fleet-matrix')).toHaveAttribute('data-members', '1001');
  await expect(page.getByTestId('census-pairs')).toHaveText(String((1001 * 1000) / 2));
  await page.getByTestId('probe-mode').selectOption('traceroute');
  await page.getByTestId('probe-button').click();
  await expect(page.getByTestId('probe-traceroute').or(page.getByTestId('probe-error'))).toBeVisible();
  await page.screenshot({ path: path.join(shots, 'matrix.png') });
  // Why this path, from the Peer view of a direct peer (the fixture's made-up dial spans).
  await page.goto(web.url);
  await page.getByTestId('filter-path-direct').click();
  await page.locator('[data-testid^="peer-row-"]').first().click();
  await page.getByTestId('why-button').click();
  await expect(page.getByTestId('why-step-endpoints')).toContainText('Endpoints tried');
  await page.getByTestId('why-panel').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(shots, 'why.png') });
});

test('tasks view: the demo bar and made-up tasks', async ({ page }) => {
  await page.goto(web.url + '#/tasks');
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-status', 'open');
  await expect(page.locator('[data-testid^="task-row-"]').first()).toBeVisible();
  await expect(page.getByTestId('demo-bar')).toHaveAttribute('data-paused', 'false');
  await page.getByTestId('demo-pause').click();
  await expect(page.getByTestId('demo-bar')).toHaveAttribute('data-paused', 'true');
  await page.screenshot({ path: path.join(shots, 'tasks.png'), fullPage: true });
});

test('peer view: visual ping and inspector', async ({ page }) => {
  await page.goto(web.url);
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-status', 'open');
  await page.getByTestId('filter-path-relay').click();
  await page.locator('[data-testid^="peer-row-"]').first().click();
  await expect(page.getByTestId('inspector-counters')).toBeVisible();
  await page.getByTestId('ping-button').click();
  await expect(page.getByTestId('ping-received')).toHaveText(/^(9|10)\/10$/, { timeout: 15_000 });
  await expect(page.getByTestId('ping-path')).toHaveAttribute('data-path', 'direct');
  await page.screenshot({ path: path.join(shots, 'peer.png'), fullPage: true });
});

test('groups, traces and logs views', async ({ page }) => {
  await page.goto(web.url);
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-status', 'open');
  await page.getByTestId('nav-groups').click();
  await expect(page.getByTestId('group-row-BACKBONE')).toBeVisible();
  await page.getByTestId('group-join-LABS').click();
  await expect(page.getByTestId('group-leave-LABS')).toBeVisible();
  await page.locator('[data-testid="group-row-RESEARCH"] a.gname').click();
  await expect(page.getByTestId('group-detail-RESEARCH')).toBeVisible();
  await page.screenshot({ path: path.join(shots, 'groups.png'), fullPage: true });

  await page.getByTestId('nav-traces').click();
  await page.getByTestId('trace-list').locator('a.titem').first().click();
  // An opened trace is collected: lanes per node (the fixture makes up the other agents' offsets).
  await expect(page.getByTestId('lane-waterfall')).toBeVisible();
  const dial = page.locator('.titem', { hasText: 'dial' }).first();
  await dial.click();
  await page.locator('.wf-row').nth(1).click();
  await page.screenshot({ path: path.join(shots, 'traces.png') });

  await page.getByTestId('nav-logs').click();
  await expect(page.getByTestId('log-line').first()).toBeVisible();
  await page.getByTestId('log-level-warn').click();
  await page.screenshot({ path: path.join(shots, 'logs.png') });
});

test('node view: identity and a netcheck report', async ({ page }) => {
  await page.goto(web.url + '#/node');
  await expect(page.getByTestId('link-status')).toHaveAttribute('data-status', 'open');
  await expect(page.getByTestId('self-address')).not.toHaveText('');
  await page.getByTestId('netcheck-run').click();
  await expect(page.getByTestId('netcheck-nat-type')).toHaveAttribute('data-nat-type', 'cone');
  await expect(page.getByTestId('netcheck-reach')).toHaveText('hole punching');
  await page.screenshot({ path: path.join(shots, 'node.png'), fullPage: true });
});

test('trust requests show as notifications', async ({ page }) => {
  await page.goto(web.url);
  const toast = page.locator('[data-testid^="trust-request-"]').first();
  await expect(toast).toBeVisible();
  await page.screenshot({ path: path.join(shots, 'trust.png'), clip: { x: 1040, y: 0, width: 400, height: 420 } });
  const id = (await toast.getAttribute('data-testid'))?.replace('trust-request-', '');
  await page.getByTestId(`trust-approve-${id}`).click();
  await expect(page.getByTestId(`trust-request-${id}`)).toHaveCount(0);
});
