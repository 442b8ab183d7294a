/**
 * The Electron app itself, when an Electron binary is present (ELECTRON_OVERRIDE_DIST_PATH, or the
 * binary already cached by the electron package). Skipped, visibly, where it cannot be downloaded.
 */
import { _electron as electron, expect, test } from '@playwright/test';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

function electronBinary(): string | undefined {
  const dist = process.env['ELECTRON_OVERRIDE_DIST_PATH'];
  if (dist) {
    const p = path.join(dist, 'electron');
    return existsSync(p) ? p : undefined;
  }
  try {
    const p: unknown = createRequire(import.meta.url)('electron');
    return typeof p === 'string' && existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

const binary = electronBinary();

test.describe('Electron console', () => {
  test.skip(!binary, 'no Electron binary on this machine (it is downloaded lazily from GitHub); the web console suites cover the renderer');

  test('opens the console window with window.pilot from the preload', async () => {
    const app = await electron.launch({ executablePath: binary, args: [root, '--no-sandbox'], cwd: root });
    try {
      const page = await app.firstWindow();
      await expect(page.getByTestId('nav-fleet')).toBeVisible();
      const shape = await page.evaluate(() => {
        const p = (globalThis as unknown as { pilot?: Record<string, unknown> }).pilot;
        return { call: typeof p?.['call'], on: typeof p?.['on'] };
      });
      expect(shape).toEqual({ call: 'function', on: 'function' });
      await expect(page.getByTestId('link-status')).toHaveAttribute('data-status', 'open');
    } finally {
      await app.close();
    }
  });
});
