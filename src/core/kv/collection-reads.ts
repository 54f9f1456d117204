// Reads shared by the commands of every collection type: random elements (HRANDFIELD,
// SRANDMEMBER, SPOP, ZRANDMEMBER) and the element cursor of HSCAN / SSCAN / ZSCAN. Both read
// about as many elements as they return, not the whole collection, once it is large.
import { arr, bulk, err } from '../reply.ts';
import type { Reply } from '../reply.ts';
import type { Element, Entry } from '../types.ts';
import { allElements, E_NOT_INT, E_SYNTAX, is } from './context.ts';
import type { Ctx } from './context.ts';
import { globMatch } from './glob.ts';
import { parseCursor, parseI64 } from './numbers.ts';

/**
 * Collections up to this size are read whole for a random pick, which is then exactly
 * uniform; larger ones are probed at random points of their element order (about uniform,
 * as Redis's own dictGetFairRandomKey is), one short range read per element.
 */
export const RANDOM_READ_WHOLE_MAX = 1024;

/** A uniform integer in [0, n). */
function below(c: Ctx, n: number): number {
  return Math.min(n - 1, Math.floor(c.random() * n));
}

/** A random byte string between a and b (a < b) in byte order: where a random probe starts. */
function pointBetween(c: Ctx, a: Buffer, b: Buffer): Buffer {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const lo = i < a.length ? a[i]! : 0;
  const hi = i < b.length ? b[i]! : 255;
  const out = Buffer.allocUnsafe(i + 1 + 6);
  a.copy(out, 0, 0, i);
  out[i] = lo + below(c, hi - lo + 1);
  for (let j = i + 1; j < out.length; j++) out[j] = below(c, 256);
  return out;
}

/** One random element of a collection with `h.count` elements (at least one). */
export function randomElement(c: Ctx, key: Buffer, h: Entry): Element {
  if (h.count <= RANDOM_READ_WHOLE_MAX) {
    const all = c.view.elements(key, { limit: h.count });
    return all[below(c, all.length)]!;
  }
  const first = c.view.elements(key, { limit: 1 })[0]!;
  const last = c.view.elements(key, { limit: 1, reverse: true })[0]!;
  const point = pointBetween(c, first.elem, last.elem);
  return c.view.elements(key, { start: point, limit: 1 })[0] ?? last;
}

/**
 * `count` distinct random elements (count < h.count), in random order: from the whole
 * collection when it is small or most of it is wanted, else by random probes.
 */
export function randomDistinct(c: Ctx, key: Buffer, h: Entry, count: number): Element[] {
  if (h.count <= RANDOM_READ_WHOLE_MAX || count * 2 >= h.count) {
    const all = allElements(c.view, key);
    // A partial Fisher-Yates shuffle: the first `count` places get a uniform sample.
    for (let i = 0; i < count; i++) {
      const j = i + below(c, all.length - i);
      const t = all[i]!;
      all[i] = all[j]!;
      all[j] = t;
    }
    return all.slice(0, count);
  }
  const seen = new Map<string, Element>();
  while (seen.size < count) {
    const el = randomElement(c, key, h);
    seen.set(el.elem.toString('latin1'), el);
  }
  return [...seen.values()];
}

/** `count` random elements, repeats allowed (the negative counts of HRANDFIELD / SRANDMEMBER). */
export function randomWithRepeats(c: Ctx, key: Buffer, h: Entry, count: number): Element[] {
  const out: Element[] = [];
  if (h.count <= RANDOM_READ_WHOLE_MAX) {
    const all = c.view.elements(key, { limit: h.count });
    for (let i = 0; i < count; i++) out.push(all[below(c, all.length)]!);
    return out;
  }
  for (let i = 0; i < count; i++) out.push(randomElement(c, key, h));
  return out;
}

// The element cursor: bit 56 set ("in progress", so no cursor is 0 but the end), bits 0..55
// the first 7 bytes of the next element (zero-padded). A batch never ends between two elements
// sharing a 7-byte prefix, so resuming at ">= that prefix" returns no element twice and misses
// none present throughout, as the keyspace SCAN cursor does.
const PREFIX_BYTES = 7;
const IN_PROGRESS = 1n << 56n;
/** SCAN's default COUNT, as in Redis. */
const DEFAULT_COUNT = 10;

function prefixOf(b: Buffer): bigint {
  let v = 0n;
  for (let i = 0; i < PREFIX_BYTES; i++) v = (v << 8n) | BigInt(b[i] ?? 0);
  return v;
}

function startOf(cursor: bigint): Buffer {
  const bytes: number[] = [];
  for (let i = PREFIX_BYTES - 1; i >= 0; i--) bytes.push(Number((cursor >> BigInt(8 * i)) & 0xffn));
  while (bytes.length > 0 && bytes[bytes.length - 1] === 0) bytes.pop();
  return Buffer.from(bytes);
}

export interface ScanArgs {
  readonly count: number;
  readonly match: Buffer | undefined;
  /** SCAN's TYPE (the keyspace scan only). */
  readonly typeName?: Buffer;
}

/**
 * MATCH / COUNT of SCAN, HSCAN, SSCAN and ZSCAN (and TYPE with `allowType`, SCAN's own), from
 * argument `from` on; the element scans parse them after the key was found, as Redis does.
 */
export function parseScanArgs(a: readonly Buffer[], from: number, allowType = false): ScanArgs | Reply {
  let count = DEFAULT_COUNT;
  let match: Buffer | undefined;
  let typeName: Buffer | undefined;
  for (let i = from; i < a.length; ) {
    const left = a.length - i;
    const o = a[i]!;
    if (is(o, 'count') && left >= 2) {
      const n = parseI64(a[i + 1]!);
      if (n === null) return err(E_NOT_INT);
      if (n < 1n) return err(E_SYNTAX);
      count = n > 1000000000n ? 1000000000 : Number(n);
      i += 2;
    } else if (is(o, 'match') && left >= 2) {
      const p = a[i + 1]!;
      match = p.length === 1 && p[0] === 0x2a ? undefined : p;
      i += 2;
    } else if (allowType && is(o, 'type') && left >= 2) {
      typeName = a[i + 1]!;
      i += 2;
    } else return err(E_SYNTAX);
  }
  return typeName === undefined ? { count, match } : { count, match, typeName };
}

/** The cursor argument, or Redis's error. */
export function parseScanCursor(b: Buffer): bigint | Reply {
  const cursor = parseCursor(b);
  return cursor === null ? err('ERR invalid cursor') : cursor;
}

/**
 * One step of an element scan from `cursor`. A collection in its small encoding is returned
 * whole with cursor 0, whatever COUNT says, as Redis does for a listpack or intset.
 */
export function scanElements(c: Ctx, key: Buffer, h: Entry, cursor: bigint, args: ScanArgs): { next: bigint; elements: Element[] } {
  if (!h.big) return { next: 0n, elements: allElements(c.view, key) };
  const start = cursor === 0n ? undefined : startOf(cursor & (IN_PROGRESS - 1n));
  const got = c.view.elements(key, start === undefined ? { limit: args.count } : { start, limit: args.count });
  if (got.length < args.count) return { next: 0n, elements: got };
  // Full: finish the group of the last element's prefix, then stop at the next group.
  const lastPrefix = prefixOf(got[got.length - 1]!.elem);
  let after = got[got.length - 1]!.elem;
  for (;;) {
    const page = c.view.elements(key, { start: after, exclusive: true, limit: 64 });
    for (const el of page) {
      if (prefixOf(el.elem) !== lastPrefix) return { next: IN_PROGRESS | prefixOf(el.elem), elements: got };
      got.push(el);
    }
    if (page.length < 64) return { next: 0n, elements: got };
    after = page[page.length - 1]!.elem;
  }
}

/** The reply of a scan step: [cursor, [items…]] with the elements MATCH keeps, each as `items(el)`. */
export function scanReply(step: { next: bigint; elements: Element[] }, match: Buffer | undefined, items: (el: Element) => Reply[]): Reply {
  const out: Reply[] = [];
  for (const el of step.elements) if (match === undefined || globMatch(match, el.elem)) out.push(...items(el));
  return arr([bulk(step.next.toString()), arr(out)]);
}
