import { describe, expect, it } from 'vitest';
import { LogLimiter, type LogFields } from './log';

describe('LogLimiter', () => {
  it('lets a burst through per key and window, then reports how many it held back', () => {
    let t = 0;
    const lim = new LogLimiter(() => t, 3, 1000);
    const allowed = Array.from({ length: 10 }, () => lim.allow('a'));
    expect(allowed.filter(Boolean)).toHaveLength(3);
    expect(lim.allow('b')).toBe(true); // keys are independent
    t = 1000;
    const fields: LogFields = {};
    expect(lim.allow('a', fields)).toBe(true);
    expect(fields.suppressed).toBe(7);
  });
});
