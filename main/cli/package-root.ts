import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root (bin/, out/, node_modules/): the nearest directory above this module holding
 * bin/pilotctl.mjs. The code runs from main/cli/ (the sources, through tsx) or from out/cli-<hash>/
 * (the compiled build, scripts/build-cli.mjs), and is bundled into a chunk there, so a relative
 * path fixed in the source would not hold in both.
 */
export function packageRoot(): string {
  const here = fileURLToPath(import.meta.url);
  for (let dir = path.dirname(here); ; ) {
    if (fs.existsSync(path.join(dir, 'bin', 'pilotctl.mjs'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no bin/pilotctl.mjs in any directory above ${here}`);
    dir = up;
  }
}

/** bin/pilotctl.mjs: what a pilotctl process re-executes (the background daemon). */
export function pilotctlBin(): string {
  return path.join(packageRoot(), 'bin', 'pilotctl.mjs');
}
