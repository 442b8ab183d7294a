import { describe, it, expect } from 'vitest';
import { fileStamp, rfc3339, safeBaseName, splitExt } from './common';

describe('service helpers', () => {
  it('formats mailbox stamps and RFC 3339 times in UTC', () => {
    const t = Date.UTC(2024, 0, 2, 3, 4, 5, 67);
    expect(fileStamp(t)).toBe('20240102-030405.067');
    expect(rfc3339(t)).toBe('2024-01-02T03:04:05Z');
  });

  it.each([
    ['report.csv', 'report.csv'],
    ['../../etc/passwd', 'passwd'],
    ['C:\\Windows\\evil.txt', 'evil.txt'],
    ['..', 'file'],
    ['.', 'file'],
    ['', 'file'],
    ['dir/', 'file'],
    ['a\u0000b\nc.txt', 'abc.txt'],
    ['.bashrc', '.bashrc'],
  ])('safeBaseName(%j) = %j', (input, out) => {
    expect(safeBaseName(input)).toBe(out);
  });

  it('caps very long names', () => {
    expect(Buffer.byteLength(safeBaseName('x'.repeat(1000)))).toBe(200);
  });

  it('splits extensions, keeping dot files whole', () => {
    expect(splitExt('a.tar.gz')).toEqual(['a.tar', '.gz']);
    expect(splitExt('noext')).toEqual(['noext', '']);
    expect(splitExt('.bashrc')).toEqual(['.bashrc', '']);
  });
});
