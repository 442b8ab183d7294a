/**
 * The demo fleet's work, as pure functions: what the coordinator asks for (one research step at a
 * time, by capability) and what each specialist answers. Small real jobs — a citation formatted
 * from its fields, a cross-rate table computed from fixed base rates, headlines picked from a fixed
 * local list — so the tasks the console shows carry real inputs and outputs. No I/O here: the
 * agents that run them over the nodes' task service are in demo.ts.
 */

export type DemoRole = 'papers' | 'fx' | 'news';

/** The capability (registry tag) each specialist serves, as the launcher starts them. */
export const ROLE_OF_TAG: Readonly<Record<string, DemoRole>> = { citations: 'papers', 'fx-rates': 'fx', news: 'news' };

export interface DemoRequest {
  tag: 'citations' | 'fx-rates' | 'news';
  description: string;
}

const PAPERS = [
  { title: 'Attention Is All You Need', authors: ['Vaswani, A.', 'Shazeer, N.', 'Parmar, N.'], year: 2017, venue: 'NeurIPS', topic: 'transformers' },
  { title: 'Time, Clocks, and the Ordering of Events in a Distributed System', authors: ['Lamport, L.'], year: 1978, venue: 'Communications of the ACM', topic: 'distributed systems' },
  { title: 'Peer-to-Peer Communication Across Network Address Translators', authors: ['Ford, B.', 'Srisuresh, P.', 'Kegel, D.'], year: 2005, venue: 'USENIX ATC', topic: 'NAT traversal' },
  { title: 'Kademlia: A Peer-to-Peer Information System Based on the XOR Metric', authors: ['Maymounkov, P.', 'Mazières, D.'], year: 2002, venue: 'IPTPS', topic: 'peer-to-peer' },
  { title: 'Dapper, a Large-Scale Distributed Systems Tracing Infrastructure', authors: ['Sigelman, B. H.', 'Barroso, L. A.', 'Burrows, M.'], year: 2010, venue: 'Google Technical Report', topic: 'tracing' },
] as const;

const CURRENCIES = ['EUR', 'GBP', 'JPY', 'CHF', 'CAD', 'AUD'] as const;
/** Units of each currency per US dollar (a fixed reference; the demo moves them a little with time). */
const PER_USD: Readonly<Record<string, number>> = { USD: 1, EUR: 0.92, GBP: 0.79, JPY: 151.2, CHF: 0.88, CAD: 1.36, AUD: 1.52 };

/** A fixed local news wire: [topic keywords, headline]. */
const HEADLINES: readonly (readonly [string, string])[] = [
  ['transformers ai agents', 'Open agent frameworks converge on peer-to-peer task protocols'],
  ['transformers ai', 'Smaller transformer models match last year’s leaders on reasoning benchmarks'],
  ['distributed systems clocks', 'Cloud providers publish clock-error bounds for their time services'],
  ['nat traversal peer-to-peer', 'Carrier-grade NAT now fronts a majority of mobile subscribers, survey finds'],
  ['peer-to-peer', 'Community mesh networks double their node counts in two years'],
  ['tracing distributed systems', 'OpenTelemetry tracing reaches general availability across major languages'],
  ['fx rates markets', 'Central banks hold rates; the dollar steadies against a basket of majors'],
  ['fx rates', 'Yen volatility draws attention ahead of the quarterly policy meeting'],
  ['ai agents markets', 'Analysts track agent-driven research desks at three large funds'],
];

/** The coordinator's n-th request: citations, fx rates and news in turn, over a few inputs each. */
export function demoRequest(n: number): DemoRequest {
  const round = Math.floor(n / 3);
  switch (n % 3) {
    case 0: {
      const p = PAPERS[round % PAPERS.length]!;
      return { tag: 'citations', description: `cite: ${p.title}` };
    }
    case 1: {
      const picks = [0, 1, 2].map((i) => CURRENCIES[(round + i * 2) % CURRENCIES.length]!);
      return { tag: 'fx-rates', description: `rates: USD vs ${picks.join(',')}` };
    }
    default: {
      const topics = ['ai agents', 'nat traversal', 'fx rates', 'tracing', 'distributed systems'];
      return { tag: 'news', description: `headlines: ${topics[round % topics.length]!}` };
    }
  }
}

/** Headlines for a request ("headlines: <topic>", "context for <topic>" or any text naming a topic). */
export function newsJob(description: string, max = 3): string {
  const topic = description.replace(/^(headlines|context)(\s+for)?:?\s*/i, '').trim().toLowerCase();
  const words = topic.split(/[^a-z0-9-]+/).filter((w) => w.length > 2);
  const scored = HEADLINES.map(([keys, h], i) => ({ h, i, score: words.filter((w) => keys.includes(w)).length })).filter((x) => x.score > 0);
  scored.sort((a, b) => b.score - a.score || a.i - b.i);
  const picked = scored.slice(0, max).map((x) => x.h);
  if (picked.length === 0) return `No headlines on “${topic}” in the local wire.`;
  return [`Headlines on “${topic}”:`, ...picked.map((h) => `- ${h}`)].join('\n');
}

/** A rate table for "rates: USD vs EUR,GBP" at time `nowMs` (each rate drifts under ±0.3 % over minutes). */
export function fxJob(description: string, nowMs: number): string {
  const m = /rates:\s*([A-Z]{3})\s+vs\s+([A-Z, ]+)/i.exec(description);
  const base = (m?.[1] ?? 'USD').toUpperCase();
  const quotes = (m?.[2] ?? 'EUR,GBP,JPY')
    .split(',')
    .map((c) => c.trim().toUpperCase())
    .filter((c) => c && c !== base);
  const perUsd = (c: string, i: number): number | undefined => {
    const r = PER_USD[c];
    return r === undefined ? undefined : r * (1 + 0.003 * Math.sin(nowMs / 60_000 + i));
  };
  const b = perUsd(base, 0);
  if (b === undefined) return `Unknown base currency ${base}.`;
  const rows = quotes.map((q, i) => {
    const r = perUsd(q, i + 1);
    return r === undefined ? `${base}/${q}  unknown` : `${base}/${q}  ${(r / b).toFixed(q === 'JPY' ? 2 : 4)}`;
  });
  return [`Rates (${new Date(nowMs).toISOString()}):`, ...rows].join('\n');
}

/** The paper a "cite: <title>" request names (by title, case-insensitively), if the library has it. */
export function findPaper(description: string): (typeof PAPERS)[number] | undefined {
  const title = description.replace(/^cite:\s*/i, '').trim().toLowerCase();
  return PAPERS.find((p) => p.title.toLowerCase() === title) ?? PAPERS.find((p) => title && p.title.toLowerCase().includes(title));
}

/** The sub-task the papers specialist sends to a news specialist before answering. */
export function contextRequest(description: string): string {
  return `context for ${findPaper(description)?.topic ?? description.replace(/^cite:\s*/i, '')}`;
}

/** An APA-style citation, with the news specialist's context (when it gave any) appended. */
export function papersJob(description: string, context?: string): string {
  const p = findPaper(description);
  if (!p) return `No entry for “${description.replace(/^cite:\s*/i, '')}” in the library.`;
  const authors = p.authors.length > 1 ? `${p.authors.slice(0, -1).join(', ')}, & ${p.authors[p.authors.length - 1]!}` : p.authors[0]!;
  const lines = [`${authors} (${p.year}). ${p.title}. ${p.venue}.`];
  if (context) lines.push('', 'Context:', context);
  return lines.join('\n');
}
