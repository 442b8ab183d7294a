import { describe, expect, it } from 'vitest';
import { daemonV8Flags } from './daemon';

describe("daemonV8Flags (the background daemon's young generation)", () => {
  it('gives the daemon 2 MiB semi-spaces by default', () => {
    expect(daemonV8Flags({})).toEqual(['--max-semi-space-size=2']);
    expect(daemonV8Flags({ PILOT_DAEMON_SEMI_SPACE_MB: '' })).toEqual(['--max-semi-space-size=2']);
  });
  it("takes another size, and 0 for V8's own", () => {
    expect(daemonV8Flags({ PILOT_DAEMON_SEMI_SPACE_MB: '8' })).toEqual(['--max-semi-space-size=8']);
    expect(daemonV8Flags({ PILOT_DAEMON_SEMI_SPACE_MB: '0' })).toEqual([]);
  });
  it('refuses what is not a whole number of MiB', () => {
    for (const v of ['x', '-1', '1.5', '999']) {
      expect(() => daemonV8Flags({ PILOT_DAEMON_SEMI_SPACE_MB: v })).toThrow(/PILOT_DAEMON_SEMI_SPACE_MB/);
    }
  });
});
