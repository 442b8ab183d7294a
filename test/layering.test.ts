import { describe, it, expect } from 'vitest';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { ESLint } from 'eslint';
import { LAYER_DIRS } from '../scripts/eslint/layering.mjs';

// The layering rule is what keeps imports pointing down; check that it really fires.
const root = path.resolve(import.meta.dirname, '..');
// The probe files do not exist on disk, so the type-aware rules (which need a TS program) are off here.
const eslint = new ESLint({
  cwd: root,
  overrideConfig: {
    languageOptions: { parserOptions: { projectService: false } },
    rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' },
  },
});

async function lint(file: string, code: string): Promise<string[]> {
  const [res] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return (res?.messages ?? []).filter((m) => m.ruleId === 'pilot/layering').map((m) => m.message);
}

const importing = (spec: string): string => `import { x } from '${spec}';\nexport const y = x;\n`;

describe('layering lint rule', () => {
  it('rejects an upward import from main/wire into main/node', async () => {
    const msgs = await lint('main/wire/probe.ts', importing('../node/node'));
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toMatch(/may not import/);
  });
  it('allows a downward import from main/node into main/wire', async () => {
    expect(await lint('main/node/probe.ts', importing('../wire/packet'))).toEqual([]);
  });
  it('forbids Node modules and main/ in shared/', async () => {
    const msgs = await lint('shared/probe.ts', "import fs from 'node:fs';\nimport { l } from '../main/util/log';\nexport const y = [fs, l];\n");
    expect(msgs).toHaveLength(2);
  });
  it('forbids Node modules, electron and main/ in renderer/', async () => {
    const msgs = await lint(
      'renderer/src/probe.ts',
      "import net from 'net';\nimport { app } from 'electron';\nimport { n } from '../../main/node/node';\nexport const y = [net, app, n];\n",
    );
    expect(msgs).toHaveLength(3);
  });

  it('gives every folder under main/ a layer', () => {
    const dirs = readdirSync(path.join(root, 'main'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => `main/${d.name}`);
    expect(dirs.filter((d) => !LAYER_DIRS.includes(d))).toEqual([]);
  });

  // The node's API sits below every face; the faces are layered among themselves.
  it.each([
    ['main/api/probe.ts', '../daemon/client', 'api', 'daemon'],
    ['main/api/probe.ts', '../console/launcher', 'api', 'console'],
    ['main/daemon/probe.ts', '../console/launcher', 'daemon', 'console'],
    ['main/daemon/probe.ts', '../cli/main', 'daemon', 'cli'],
    ['main/console/probe.ts', '../electron/ipc', 'console', 'electron'],
    ['main/console/probe.ts', '../cli/main', 'console', 'cli'],
    ['main/electron/probe.ts', '../cli/main', 'electron', 'cli'],
    ['main/node/probe.ts', '../api/service', 'node', 'api'],
  ])('rejects %s importing %s (%s -> %s)', async (file, spec, from, to) => {
    const msgs = await lint(file, importing(spec));
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toContain(`layer '${from}'`);
    expect(msgs[0]).toContain(`(layer '${to}')`);
  });

  it.each([
    ['main/daemon/probe.ts', '../api/dispatch'],
    ['main/console/probe.ts', '../daemon/client'],
    ['main/console/probe.ts', '../api/service'],
    ['main/cli/probe.ts', '../daemon/client'],
    ['main/cli/probe.ts', '../console/launcher'],
    ['main/electron/probe.ts', '../console/launcher'],
    ['main/electron/probe.ts', '../api/dispatch'],
  ])('allows %s importing %s', async (file, spec) => {
    expect(await lint(file, importing(spec))).toEqual([]);
  });
});
