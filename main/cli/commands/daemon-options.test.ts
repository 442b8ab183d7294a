import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isPilotError } from '../../../shared/errors';
import { pilotPaths } from '../../daemon/paths';
import type { CommandContext } from '../command';
import { daemonOptions } from './daemon';

// `daemon start`'s backbone addresses: one or several, from flags, --backbone, the environment and
// config files, checked before a background daemon starts.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-dopts-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function ctx(flags: Record<string, string | boolean>, env: NodeJS.ProcessEnv = {}): CommandContext {
  return {
    args: [],
    flags,
    json: false,
    env: { PILOT_HOME: path.join(dir, 'home'), ...env },
    out: () => undefined,
    err: () => undefined,
    interrupted: new Promise<void>(() => undefined),
  };
}
const opts = (flags: Record<string, string | boolean>, env: NodeJS.ProcessEnv = {}) => {
  const c = ctx(flags, env);
  return daemonOptions(c, pilotPaths(c.env));
};

describe('daemon start: backbone addresses', () => {
  it('one address as before; defaults', () => {
    expect(opts({})).toMatchObject({ registry: '127.0.0.1:9000', beacon: '127.0.0.1:9001' });
    expect(opts({ backbone: 'bb.example' })).toMatchObject({ registry: 'bb.example:9000', beacon: 'bb.example:9001' });
    expect(opts({ registry: 'r:1', beacon: 'b:2' })).toMatchObject({ registry: 'r:1', beacon: 'b:2' });
  });

  it('several: comma-separated flags, --backbone hosts, PILOT_REGISTRY/PILOT_BEACON', () => {
    expect(opts({ registry: 'a:9000,b:9000', beacon: 'a:9001,b:9001' })).toMatchObject({ registry: 'a:9000,b:9000', beacon: 'a:9001,b:9001' });
    expect(opts({ backbone: 'hostA,hostB' })).toMatchObject({ registry: 'hostA:9000,hostB:9000', beacon: 'hostA:9001,hostB:9001' });
    expect(opts({}, { PILOT_REGISTRY: 'a:9000,b:9000', PILOT_BEACON: 'a:9001,b:9001' })).toMatchObject({ registry: 'a:9000,b:9000', beacon: 'a:9001,b:9001' });
    // a flag wins over --backbone and the environment
    expect(opts({ backbone: 'hostA,hostB', registry: 'c:1' }, { PILOT_REGISTRY: 'd:2' })).toMatchObject({ registry: 'c:1', beacon: 'hostA:9001,hostB:9001' });
  });

  it('several from a --config file as arrays', () => {
    const f = path.join(dir, 'cfg.json');
    fs.writeFileSync(f, JSON.stringify({ registry: ['a:9000', 'b:9000'], beacon: ['a:9001', 'b:9001'] }));
    expect(opts({ config: f })).toMatchObject({ registry: 'a:9000,b:9000', beacon: 'a:9001,b:9001' });
  });

  it('refuses a bad address in a list before anything starts', () => {
    const code = (flags: Record<string, string>): string | undefined => {
      try {
        opts(flags);
      } catch (e) {
        return isPilotError(e) ? `${e.code}: ${e.message}` : String(e);
      }
      return undefined;
    };
    expect(code({ registry: 'a:9000,b' })).toBe('invalid_argument: invalid registry address "b"');
    expect(code({ beacon: 'a:9001,' + 'x:99999' })).toBe('invalid_argument: invalid beacon address "x:99999"');
    expect(code({ backbone: 'bb.example:9000' })).toMatch(/^invalid_argument: --backbone takes host names/);
  });
});
