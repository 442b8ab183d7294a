import { describe, it, expect } from 'vitest';
import path from 'node:path';
import { ESLint } from 'eslint';

// The layering rule is what keeps imports pointing down; check that it really fires.
const root = path.resolve(import.meta.dirname, '..');
const eslint = new ESLint({ cwd: root });

async function lint(file: string, code: string): Promise<string[]> {
  const [res] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return (res?.messages ?? []).filter((m) => m.ruleId === 'pilot/layering').map((m) => m.message);
}

describe('layering lint rule', () => {
  it('rejects an upward import from main/wire into main/node', async () => {
    const msgs = await lint('main/wire/probe.ts', "import { x } from '../node/node';\nexport const y = x;\n");
    expect(msgs).toHaveLength(1);
    expect(msgs[0]).toMatch(/may not import/);
  });
  it('allows a downward import from main/node into main/wire', async () => {
    expect(await lint('main/node/probe.ts', "import { x } from '../wire/packet';\nexport const y = x;\n")).toEqual([]);
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
});
