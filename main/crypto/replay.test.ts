import { describe, expect, it } from 'vitest';
import { REPLAY_WINDOW_SIZE, ReplayWindow, type ReplayVerdict, readCounter, writeCounter } from './replay';

/** Feeds counters in order through checkAndAccept and returns the verdicts. */
function run(counters: number[], w = new ReplayWindow()): ReplayVerdict[] {
  return counters.map((c) => w.checkAndAccept(c));
}

describe('ReplayWindow (wire.md §6.1)', () => {
  it.each<[string, number[], ReplayVerdict[]]>([
    ['max == 0: first counter accepted, whatever it is', [1000], ['ok']],
    ['in order', [1, 2, 3, 4], ['ok', 'ok', 'ok', 'ok']],
    ['exact replay of the newest', [1, 2, 2], ['ok', 'ok', 'replay']],
    ['replay of an older one inside the window', [1, 2, 3, 1], ['ok', 'ok', 'ok', 'replay']],
    ['out of order inside the window is accepted once', [1, 5, 3, 4, 2, 3], ['ok', 'ok', 'ok', 'ok', 'ok', 'replay']],
    ['max - c == 255 is still inside the window', [1, 256, 1], ['ok', 'ok', 'replay']],
    ['max - c == 255, unseen → accepted', [300, 46], ['ok', 'ok']],
    ['max - c == 256 is too old', [300, 44], ['ok', 'too_old']],
    ['far behind is too old', [10_000, 1], ['ok', 'too_old']],
    ['counter 0 is accepted once, then a replay', [0, 0], ['ok', 'replay']],
    ['counter 0 stays marked after a small jump', [0, 5, 0], ['ok', 'ok', 'replay']],
  ])('%s', (_name, counters, verdicts) => {
    expect(run(counters)).toEqual(verdicts);
  });

  it('a jump clears the slots it skips (so their alias mod 256 is accepted)', () => {
    const w = new ReplayWindow();
    // Mark 1..10, then jump to 260: slots 11..259 (mod 256: 11..255, 0..3) are cleared, 4 (=260) marked.
    run([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], w);
    expect(w.checkAndAccept(260)).toBe('ok');
    expect(w.max).toBe(260);
    // 5..10 are inside the window (260-5 = 255) and were marked before the jump: still replays
    // because their slots were not in the skipped range (261..) — skipped range was 11..259.
    expect(w.check(5)).toBe('replay');
    expect(w.check(10)).toBe('replay');
    // 4 is too old now (260 - 4 = 256).
    expect(w.check(4)).toBe('too_old');
    // 11..259 were skipped: accepted.
    expect(w.checkAndAccept(11)).toBe('ok');
    expect(w.checkAndAccept(259)).toBe('ok');
    expect(w.checkAndAccept(259)).toBe('replay');
  });

  it('a jump within the window wraps the bitmap and clears the old marks of reused slots', () => {
    const w = new ReplayWindow();
    run([250, 251, 252, 253, 254, 255], w);
    // 255 → 260: skipped 256..259 reuse slots 0..3; they were never set; 260 → slot 4.
    expect(w.checkAndAccept(260)).toBe('ok');
    expect(w.checkAndAccept(258)).toBe('ok');
    expect(w.checkAndAccept(258)).toBe('replay');
    expect(w.check(250)).toBe('replay');
    // Slide further so 250..255's slots are reused by 506..511: a jump from 260 to 511 (251 < 256)
    // clears 261..510, which includes slots of 250..254 (506..510) but not 255's (511 is marked).
    expect(w.checkAndAccept(511)).toBe('ok');
    expect(w.check(255)).toBe('too_old'); // 511 - 255 = 256
    expect(w.check(256)).toBe('ok'); // 511 - 256 = 255, never received
    expect(w.check(258)).toBe('replay'); // slot 2: its next alias 514 is beyond the cleared 261..510
    expect(w.check(260)).toBe('replay');
    expect(w.check(300)).toBe('ok');
  });

  it('a jump of exactly 256 or more clears everything', () => {
    for (const jump of [256, 257, 1000]) {
      const w = new ReplayWindow();
      run([1, 2, 3], w);
      expect(w.checkAndAccept(3 + jump)).toBe('ok');
      // every other counter inside the new window is unmarked
      for (let c = 3 + jump - 255; c < 3 + jump; c++) expect(w.check(c)).toBe('ok');
      expect(w.check(3 + jump)).toBe('replay');
    }
  });

  it('a jump of 255 keeps only the mark of the old max', () => {
    const w = new ReplayWindow();
    run([1, 2, 3], w);
    expect(w.checkAndAccept(258)).toBe('ok'); // jump 255: clears 4..257 (slots 4..255, 0, 1)
    expect(w.check(3)).toBe('replay'); // slot 3 untouched, 258-3 = 255 inside the window
    expect(w.check(2)).toBe('too_old');
    expect(w.check(257)).toBe('ok');
  });

  it('check does not change state; reset forgets everything', () => {
    const w = new ReplayWindow();
    expect(w.check(7)).toBe('ok');
    expect(w.check(7)).toBe('ok');
    expect(w.max).toBe(0);
    run([7, 8], w);
    w.reset();
    expect(w.max).toBe(0);
    expect(run([7, 8, 1], w)).toEqual(['ok', 'ok', 'ok']);
  });

  it('refuses counters that are not safe non-negative integers', () => {
    const w = new ReplayWindow();
    expect(w.check(Infinity)).toBe('too_old');
    expect(w.check(Number.MAX_SAFE_INTEGER + 1)).toBe('too_old');
    expect(w.check(-1)).toBe('too_old');
    expect(w.check(1.5)).toBe('too_old');
    expect(w.checkAndAccept(Number.MAX_SAFE_INTEGER)).toBe('ok');
    expect(w.checkAndAccept(Number.MAX_SAFE_INTEGER)).toBe('replay');
    expect(w.checkAndAccept(Number.MAX_SAFE_INTEGER - 255)).toBe('ok');
    expect(w.checkAndAccept(Number.MAX_SAFE_INTEGER - 256)).toBe('too_old');
  });

  it('agrees with a naive set-based model on random traffic', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const w = new ReplayWindow();
    const seen = new Set<number>();
    let max = 0;
    let next = 1;
    for (let i = 0; i < 20_000; i++) {
      const r = rnd(10);
      const c = r < 5 ? next++ : r < 8 ? Math.max(1, next - 1 - rnd(300)) : (next += rnd(400));
      const expected: ReplayVerdict = c > max ? 'ok' : max - c >= REPLAY_WINDOW_SIZE ? 'too_old' : seen.has(c) ? 'replay' : 'ok';
      expect(w.checkAndAccept(c)).toBe(expected);
      if (expected === 'ok') {
        seen.add(c);
        max = Math.max(max, c);
      }
    }
  });
});

describe('u64 counter codec', () => {
  it.each([
    [0, '0000000000000000'],
    [1, '0000000000000001'],
    [0xffff_ffff, '00000000ffffffff'],
    [0x1_0000_0000, '0000000100000000'],
    [Number.MAX_SAFE_INTEGER, '001fffffffffffff'],
  ])('%d ⇄ %s', (n, hex) => {
    const b = new Uint8Array(10);
    writeCounter(b, 1, n);
    expect(Buffer.from(b.subarray(1, 9)).toString('hex')).toBe(hex);
    expect(readCounter(b, 1)).toBe(n);
  });

  it('reads counters beyond 2^53 - 1 as Infinity', () => {
    expect(readCounter(Uint8Array.from(Buffer.from('0020000000000000', 'hex')), 0)).toBe(Infinity);
    expect(readCounter(Uint8Array.from(Buffer.from('ffffffffffffffff', 'hex')), 0)).toBe(Infinity);
  });
});
