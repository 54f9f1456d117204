// ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD (zunionInterDiffGenericCommand of
// Redis 7.0): inputs may be sorted sets or plain sets (whose members score 1). ZINTER walks the
// smallest input and looks members up in the others; ZDIFF walks the first; ZUNION reads all.
// Results come in score order, as Redis replies from the sorted set it builds.
import { decodeScore, encodeScore } from '../collections.ts';
import { err, int } from '../reply.ts';
import type { Reply } from '../reply.ts';
import type { Entry } from '../types.ts';
import { allElements, E_NOT_INT, E_SYNTAX, ELEMENT_PAGE, is, live, WRONGTYPE } from './context.ts';
import type { Ctx, Handler } from './context.ts';
import { parseI64 } from './numbers.ts';
import { parseScore, rangeReply, storeMembers } from './zset-ranges.ts';

type Op = 'union' | 'inter' | 'diff';
type Aggregate = 'sum' | 'min' | 'max';

interface Source {
  readonly key: Buffer;
  readonly h: Entry | undefined;
  weight: number;
}

interface Scored {
  readonly elem: Buffer;
  score: number;
}

/** A member's score in a source: its zset score, 1 in a plain set, undefined if absent. */
function scoreIn(c: Ctx, s: Source, m: Buffer): number | undefined {
  if (s.h === undefined) return undefined;
  const v = c.view.getElement(s.key, m);
  if (v === undefined) return undefined;
  return s.h.type === 'zset' ? decodeScore(v) : 1;
}

function eachScored(c: Ctx, s: Source, fn: (m: Buffer, score: number) => boolean): void {
  if (s.h === undefined) return;
  let start: Buffer | undefined;
  for (;;) {
    const page = c.view.elements(s.key, start === undefined ? { limit: ELEMENT_PAGE } : { start, exclusive: true, limit: ELEMENT_PAGE });
    for (const el of page) if (!fn(el.elem, s.h.type === 'zset' ? decodeScore(el.value) : 1)) return;
    if (page.length < ELEMENT_PAGE) return;
    start = page[page.length - 1]!.elem;
  }
}

/** zunionInterAggregate: a sum that is NaN (inf + -inf) becomes 0. */
function aggregate(target: number, val: number, how: Aggregate): number {
  if (how === 'sum') {
    const s = target + val;
    return Number.isNaN(s) ? 0 : s;
  }
  if (how === 'min') return val < target ? val : target;
  return val > target ? val : target;
}

const weighted = (s: Source, score: number): number => {
  const v = s.weight * score;
  return Number.isNaN(v) ? 0 : v;
};

/** Members of the intersection with aggregated scores (at most `limit`, 0 = all). */
function intersection(c: Ctx, sources: readonly Source[], how: Aggregate, limit: number): Scored[] {
  if (sources.some((s) => s.h === undefined)) return [];
  // Smallest first, as Redis orders the inputs (it also fixes the order of the sum).
  const order = [...sources].sort((x, y) => x.h!.count - y.h!.count);
  const [first, ...rest] = order;
  const out: Scored[] = [];
  eachScored(c, first!, (m, sc) => {
    let score = weighted(first!, sc);
    for (const r of rest) {
      const v = scoreIn(c, r, m);
      if (v === undefined) return true;
      score = aggregate(score, r.weight * v, how);
    }
    out.push({ elem: m, score });
    return limit === 0 || out.length < limit;
  });
  return out;
}

function union(c: Ctx, sources: readonly Source[], how: Aggregate): Scored[] {
  const acc = new Map<string, Scored>();
  const order = [...sources].sort((x, y) => (x.h?.count ?? 0) - (y.h?.count ?? 0));
  for (const s of order) {
    if (s.h === undefined) continue;
    for (const el of allElements(c.view, s.key)) {
      const score = weighted(s, s.h.type === 'zset' ? decodeScore(el.value) : 1);
      const id = el.elem.toString('latin1');
      const had = acc.get(id);
      if (had === undefined) acc.set(id, { elem: el.elem, score });
      else had.score = aggregate(had.score, score, how);
    }
  }
  return [...acc.values()];
}

function difference(c: Ctx, sources: readonly Source[]): Scored[] {
  const [first, ...rest] = sources;
  const others = rest.filter((s) => s.h !== undefined);
  const out: Scored[] = [];
  eachScored(c, first!, (m, score) => {
    if (!others.some((s) => c.view.getElement(s.key, m) !== undefined)) out.push({ elem: m, score });
    return true;
  });
  return out;
}

/** Redis's (score, member) order of a sorted set. */
function byScore(x: Scored, y: Scored): number {
  return x.score < y.score ? -1 : x.score > y.score ? 1 : Buffer.compare(x.elem, y.elem);
}

interface Parsed {
  readonly sources: Source[];
  readonly how: Aggregate;
  readonly withScores: boolean;
  readonly limit: number;
}

/** Arguments from numkeys on, checked in Redis's order: numkeys, the keys' types, then options. */
function parseArgs(c: Ctx, a: readonly Buffer[], numIdx: number, op: Op, store: boolean, cardOnly: boolean, name: string): Parsed | Reply {
  const nk = parseI64(a[numIdx]!);
  if (nk === null) return err(E_NOT_INT);
  if (nk < 1n) return err(`ERR at least 1 input key is needed for '${name}' command`);
  if (nk > BigInt(a.length - (numIdx + 1))) return err(E_SYNTAX);
  const n = Number(nk);
  const sources: Source[] = [];
  for (let i = 0; i < n; i++) {
    const key = a[numIdx + 1 + i]!;
    const h = live(c, key);
    if (h !== undefined && h.type !== 'zset' && h.type !== 'set') return WRONGTYPE;
    sources.push({ key, h, weight: 1 });
  }
  let how: Aggregate = 'sum';
  let withScores = false;
  let limit = 0;
  let j = numIdx + 1 + n;
  while (j < a.length) {
    const remaining = a.length - j;
    const o = a[j]!;
    if (op !== 'diff' && !cardOnly && remaining >= n + 1 && is(o, 'weights')) {
      j++;
      for (let i = 0; i < n; i++, j++) {
        const w = parseScore(a[j]!);
        if (w === null) return err('ERR weight value is not a float');
        sources[i]!.weight = w;
      }
    } else if (op !== 'diff' && !cardOnly && remaining >= 2 && is(o, 'aggregate')) {
      const v = a[j + 1]!;
      if (is(v, 'sum')) how = 'sum';
      else if (is(v, 'min')) how = 'min';
      else if (is(v, 'max')) how = 'max';
      else return err(E_SYNTAX);
      j += 2;
    } else if (!store && !cardOnly && is(o, 'withscores')) {
      withScores = true;
      j++;
    } else if (cardOnly && remaining >= 2 && is(o, 'limit')) {
      const l = parseI64(a[j + 1]!);
      if (l === null || l < 0n) return err("ERR LIMIT can't be negative");
      limit = l > BigInt(Number.MAX_SAFE_INTEGER) ? 0 : Number(l);
      j += 2;
    } else return err(E_SYNTAX);
  }
  return { sources, how, withScores, limit };
}

function compute(c: Ctx, op: Op, p: Parsed): Scored[] {
  const out = op === 'union' ? union(c, p.sources, p.how) : op === 'inter' ? intersection(c, p.sources, p.how, 0) : difference(c, p.sources);
  return out.sort(byScore);
}

function combineCommand(op: Op, name: string): Handler {
  return (c, a) => {
    const p = parseArgs(c, a, 1, op, false, false, name);
    if (!('sources' in p)) return p;
    const els = compute(c, op, p).map((s) => ({ elem: s.elem, value: encodeScore(s.score) }));
    return rangeReply(els, p.withScores);
  };
}

function storeCommand(op: Op, name: string): Handler {
  return (c, a) => {
    const p = parseArgs(c, a, 2, op, true, false, name);
    if (!('sources' in p)) return p;
    return storeMembers(c, a[1]!, compute(c, op, p).map((s) => ({ elem: s.elem, value: encodeScore(s.score) })));
  };
}

const zintercard: Handler = (c, a) => {
  const p = parseArgs(c, a, 1, 'inter', false, true, 'zintercard');
  if (!('sources' in p)) return p;
  return int(intersection(c, p.sources, 'sum', p.limit).length);
};

export const COMBINE_HANDLERS: ReadonlyArray<readonly [string, Handler]> = [
  ['zunion', combineCommand('union', 'zunion')],
  ['zunionstore', storeCommand('union', 'zunionstore')],
  ['zinter', combineCommand('inter', 'zinter')],
  ['zinterstore', storeCommand('inter', 'zinterstore')],
  ['zintercard', zintercard],
  ['zdiff', combineCommand('diff', 'zdiff')],
  ['zdiffstore', storeCommand('diff', 'zdiffstore')],
];
