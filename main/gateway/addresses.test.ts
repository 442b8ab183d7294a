import { describe, it, expect } from 'vitest';
import { LoopbackAddresses, type Runner } from './addresses';

function recorder(replies: { code: number; stderr: string }[]): { runner: Runner; calls: string[] } {
  const calls: string[] = [];
  const runner: Runner = async (cmd, args) => {
    calls.push([cmd, ...args].join(' '));
    return replies.shift() ?? { code: 0, stderr: '' };
  };
  return { runner, calls };
}

describe('loopback address driver (ip addr)', () => {
  it('adds and removes /32s on lo; an address already there is reported as not ours', async () => {
    const { runner, calls } = recorder([{ code: 0, stderr: '' }, { code: 2, stderr: 'RTNETLINK answers: File exists\n' }, { code: 0, stderr: '' }]);
    const d = new LoopbackAddresses('lo', runner);
    expect(await d.add('10.4.0.1')).toBe(true);
    expect(await d.add('10.4.0.1')).toBe(false);
    expect(await d.remove('10.4.0.1')).toBe(true);
    expect(calls).toEqual(['ip addr add 10.4.0.1/32 dev lo', 'ip addr add 10.4.0.1/32 dev lo', 'ip addr del 10.4.0.1/32 dev lo']);
  });

  it('an address already gone is not an error; no root is permission_denied with a hint', async () => {
    const { runner } = recorder([
      { code: 2, stderr: 'RTNETLINK answers: Cannot assign requested address\n' },
      { code: 2, stderr: 'RTNETLINK answers: Operation not permitted\n' },
      { code: 1, stderr: 'Error: something else\n' },
    ]);
    const d = new LoopbackAddresses('lo', runner);
    expect(await d.remove('10.4.0.1')).toBe(false);
    await expect(d.add('10.4.0.1')).rejects.toMatchObject({ code: 'permission_denied', hint: expect.stringMatching(/root/) });
    await expect(d.remove('10.4.0.1')).rejects.toMatchObject({ code: 'internal', message: expect.stringMatching(/something else/) });
  });
});
