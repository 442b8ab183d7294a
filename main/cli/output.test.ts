import { describe, it, expect } from 'vitest';
import { formatBytes, formatUptime, goDuration, goJson, parseDuration } from './output';
import { runCli } from './main';

describe('Go-compatible formatting', () => {
  it.each([
    [0, '0s'],
    [0.0005, '500ns'],
    [0.850123, '850.123µs'],
    [0.4, '400µs'],
    [1.234567, '1.234567ms'],
    [850, '850ms'],
    [1500, '1.5s'],
    [90_000, '1m30s'],
    [3_600_000, '1h0m0s'],
    [120_500, '2m0.5s'],
  ])('duration %s ms → %s', (ms, text) => expect(goDuration(ms)).toBe(text));

  it.each([
    [1023, '1023 B'],
    [1536, '1.5 KB'],
    [5 * 1024 * 1024, '5.0 MB'],
  ])('bytes %s → %s', (n, text) => expect(formatBytes(n)).toBe(text));

  it('uptime is HH:MM:SS', () => expect(formatUptime(3723)).toBe('01:02:03'));

  it('JSON has sorted keys and Go escaping', () => {
    expect(goJson({ b: 1, a: { d: '<&>', c: [2] } })).toBe('{"a":{"c":[2],"d":"\\u003c\\u0026\\u003e"},"b":1}');
  });

  it.each([
    ['30s', 30_000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['2.5', 2500],
    ['2h', 7_200_000],
  ])('parses duration %s', (t, ms) => expect(parseDuration(t)).toBe(ms));
  it.each(['', 'abc', '10x', '5s junk'])('rejects duration %j', (t) => expect(parseDuration(t)).toBeUndefined());
});

describe('pilotctl dispatch', () => {
  async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await runCli(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s), env: {} });
    return { code, out, err };
  }

  it('prints the command list for --help', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['daemon start', 'ping', 'group join', 'find', 'broadcast', 'backbone start']) expect(r.out).toContain(c);
  });

  it('no command → usage on stderr, exit 2', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('Usage: pilotctl');
  });

  it('unknown command in JSON mode → invalid_argument envelope on stderr, exit 1', async () => {
    const r = await run(['--json', 'frobnicate']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.err)).toMatchObject({ status: 'error', code: 'invalid_argument' });
  });

  it('an unknown flag is a clear invalid_argument error', async () => {
    const r = await run(['--json', 'context', '--bogus']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.err)).toMatchObject({ code: 'invalid_argument' });
  });

  it('context lists every command in the envelope', async () => {
    const r = await run(['--json', 'context']);
    expect(r.code).toBe(0);
    const env = JSON.parse(r.out) as { status: string; data: { commands: Record<string, unknown> } };
    expect(env.status).toBe('ok');
    expect(Object.keys(env.data.commands)).toContain('ping');
  });
});
