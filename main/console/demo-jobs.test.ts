import { describe, expect, it } from 'vitest';
import { contextRequest, demoRequest, findPaper, fxJob, newsJob, papersJob, ROLE_OF_TAG } from './demo-jobs';

describe('demo jobs', () => {
  it('the coordinator asks for citations, fx rates and news in turn, each served by a role', () => {
    const tags = [0, 1, 2, 3, 4, 5].map((n) => demoRequest(n).tag);
    expect(tags).toEqual(['citations', 'fx-rates', 'news', 'citations', 'fx-rates', 'news']);
    for (const t of tags) expect(ROLE_OF_TAG[t]).toBeDefined();
    // Every citation request names a paper the library has.
    for (let n = 0; n < 30; n += 3) expect(findPaper(demoRequest(n).description), demoRequest(n).description).toBeDefined();
  });

  it('papers formats an APA-style citation and appends the context it got', () => {
    const out = papersJob('cite: Time, Clocks, and the Ordering of Events in a Distributed System', 'Headlines: x');
    expect(out).toBe('Lamport, L. (1978). Time, Clocks, and the Ordering of Events in a Distributed System. Communications of the ACM.\n\nContext:\nHeadlines: x');
    expect(papersJob('cite: Attention Is All You Need')).toMatch(/^Vaswani, A\., Shazeer, N\., & Parmar, N\. \(2017\)\. Attention Is All You Need\. NeurIPS\.$/);
    expect(papersJob('cite: an unknown paper')).toMatch(/No entry/);
    expect(contextRequest('cite: Attention Is All You Need')).toBe('context for transformers');
  });

  it('news picks headlines by topic from its local list, best matches first', () => {
    const out = newsJob(contextRequest('cite: Peer-to-Peer Communication Across Network Address Translators'));
    const lines = out.split('\n');
    expect(lines[0]).toBe('Headlines on “nat traversal”:');
    expect(lines[1]).toMatch(/Carrier-grade NAT/);
    expect(newsJob('headlines: gardening')).toMatch(/No headlines/);
  });

  it('fx computes cross rates from the base currency', () => {
    const t = Date.UTC(2026, 0, 1);
    const out = fxJob('rates: USD vs EUR,JPY', t).split('\n');
    expect(out).toHaveLength(3);
    const eur = Number(/USD\/EUR {2}([\d.]+)/.exec(out[1]!)![1]);
    const jpy = Number(/USD\/JPY {2}([\d.]+)/.exec(out[2]!)![1]);
    expect(eur).toBeGreaterThan(0.92 * 0.996);
    expect(eur).toBeLessThan(0.92 * 1.004);
    expect(jpy).toBeGreaterThan(151.2 * 0.996);
    // A cross rate is the ratio of the two per-dollar rates.
    const cross = fxJob('rates: EUR vs JPY', t).split('\n')[1]!;
    expect(Number(/EUR\/JPY {2}([\d.]+)/.exec(cross)![1])).toBeGreaterThan(150);
    expect(fxJob('rates: XXX vs EUR', t)).toMatch(/Unknown base/);
  });
});
