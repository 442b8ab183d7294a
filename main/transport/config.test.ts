import { describe, expect, it } from 'vitest';
import { DEFAULT_TRANSPORT_CONFIG, makeTransportConfig, type TransportConfig } from './config';

describe('makeTransportConfig: congestion', () => {
  it('accepts the controllers it knows', () => {
    expect(makeTransportConfig({ congestion: 'reno' }).congestion).toBe('reno');
    expect(makeTransportConfig({ congestion: 'bbr' }).congestion).toBe('bbr');
    expect(['reno', 'bbr']).toContain(DEFAULT_TRANSPORT_CONFIG.congestion);
  });

  it('rejects any other value as invalid_argument', () => {
    const bad = (v: unknown): Partial<TransportConfig> => ({ congestion: v }) as unknown as Partial<TransportConfig>;
    for (const v of ['cubic', 'BBR', '', 1, true]) {
      expect(() => makeTransportConfig(bad(v))).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    }
  });
});
