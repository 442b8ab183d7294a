import { describe, it, expect } from 'vitest';
import { MappingTable, formatIpv4, parseIpv4, parseSubnet, formatSubnet } from './mapping';

describe('gateway mapping table', () => {
  it('parses and formats IPv4 and subnets (host bits cleared)', () => {
    expect(parseIpv4('10.4.0.1')).toBe(0x0a040001);
    expect(formatIpv4(0x0a040001)).toBe('10.4.0.1');
    for (const bad of ['10.4.0', '10.4.0.256', '10.4.0.01', 'a.b.c.d', '10.4.0.1.2']) expect(parseIpv4(bad)).toBeUndefined();
    expect(formatSubnet(parseSubnet('10.4.7.9/16'))).toBe('10.4.0.0/16');
    for (const bad of ['10.4.0.0', '10.4.0.0/0', '10.4.0.0/31', '10.4.0.0/x', 'x/16', '10.4.0.0/16/1']) {
      expect(() => parseSubnet(bad)).toThrow(/invalid subnet/);
    }
  });

  it('allocates from .1 upwards, returns the existing IP for an address mapped twice, lists in order', () => {
    const t = new MappingTable('10.4.0.0/16');
    expect(t.map('0:0000.0000.0005').mapping.localIp).toBe('10.4.0.1');
    expect(t.map('0:0000.0000.0006').mapping.localIp).toBe('10.4.0.2');
    expect(t.map('0:0000.0000.0005')).toEqual({ mapping: { localIp: '10.4.0.1', pilotAddr: '0:0000.0000.0005' }, created: false });
    expect(t.list()).toEqual([
      { localIp: '10.4.0.1', pilotAddr: '0:0000.0000.0005' },
      { localIp: '10.4.0.2', pilotAddr: '0:0000.0000.0006' },
    ]);
    expect(t.lookup('10.4.0.2')).toBe('0:0000.0000.0006');
  });

  it('takes an explicit IP inside the subnet only, and only when free', () => {
    const t = new MappingTable('10.4.0.0/16');
    expect(t.map('0:0000.0000.0005', '10.4.3.3').mapping.localIp).toBe('10.4.3.3');
    expect(() => t.map('0:0000.0000.0006', '10.5.0.1')).toThrow(/not in subnet 10.4.0.0\/16/);
    expect(() => t.map('0:0000.0000.0006', '10.4.3.3')).toThrow(/already mapped/);
    expect(() => t.map('0:0000.0000.0006', 'nope')).toThrow(/invalid IP/);
    expect(t.size).toBe(1);
  });

  it('unmaps by IP, reuses freed addresses, and reports exhaustion (never the network or broadcast address)', () => {
    const t = new MappingTable('192.0.2.0/30'); // .1 and .2 usable
    expect(t.map('0:0000.0000.0001').mapping.localIp).toBe('192.0.2.1');
    expect(t.map('0:0000.0000.0002').mapping.localIp).toBe('192.0.2.2');
    expect(() => t.map('0:0000.0000.0003')).toThrow(/exhausted/);
    expect(t.unmap('192.0.2.1')).toEqual({ localIp: '192.0.2.1', pilotAddr: '0:0000.0000.0001' });
    expect(() => t.unmap('192.0.2.1')).toThrow(/no mapping for 192.0.2.1/);
    expect(t.map('0:0000.0000.0003').mapping.localIp).toBe('192.0.2.1');
    expect(t.lookup('192.0.2.1')).toBe('0:0000.0000.0003');
  });
});
