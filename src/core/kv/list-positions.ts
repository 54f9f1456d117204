// Where list elements sit and how they are found. A list element's `elem` is its position
// (encodeListPosition); a list is its elements in position order. Pushes take positions
// LIST_POSITION_STEP beyond an end, LINSERT takes one between two neighbours, and when two
// neighbours have no position left between them a window around them is renumbered here, on
// the primary, and replicated as ordinary element ops (each a final value). Reads by index walk
// from the nearer end, so LRANGE 0 9 or LINDEX -1 of a huge list reads about the elements it
// returns.
import { decodeListPosition, encodeListPosition, LIST_POSITION_MAX, LIST_POSITION_MIN, LIST_POSITION_STEP } from '../collections.ts';
import { err } from '../reply.ts';
import type { Reply } from '../reply.ts';
import type { Element, Entry } from '../types.ts';
import { delElem, ELEMENT_PAGE, setElem } from './context.ts';
import type { Ctx } from './context.ts';

export type End = 'left' | 'right';

export const E_LIST_POSITIONS = `ERR no list position is left at this end of the list (positions span 2^53, LIST_POSITION_STEP ${LIST_POSITION_STEP} apart): pop the list empty or rebuild it under a new key`;

/**
 * Neighbours read on each side when LINSERT finds no free position between two elements; the
 * window doubles until its span has room to spread its elements at least 2 apart.
 */
export const RENUMBER_WINDOW = 16;

export const positionOf = (el: Element): number => decodeListPosition(el.elem);

/** The element at one end of a non-empty list. */
export function endElement(c: Ctx, key: Buffer, end: End): Element {
  return c.view.elements(key, { limit: 1, reverse: end === 'right' })[0]!;
}

/**
 * The positions of `n` elements pushed one by one at `end` of the list at key (h undefined: a
 * new list, whose first element takes 0), in push order; null when the range is used up.
 */
export function pushPositions(c: Ctx, key: Buffer, h: Entry | undefined, end: End, n: number): number[] | null {
  const out: number[] = [];
  let from: number;
  if (h === undefined) {
    out.push(0);
    from = 0;
  } else from = positionOf(endElement(c, key, end));
  const left = n - out.length;
  if (left === 0) return out;
  const room = end === 'left' ? from - LIST_POSITION_MIN : LIST_POSITION_MAX - from;
  const step = Math.min(LIST_POSITION_STEP, Math.floor(room / left));
  if (step < 1) return null;
  for (let i = 1; i <= left; i++) out.push(end === 'left' ? from - step * i : from + step * i);
  return out;
}

/** Pushes `values` one by one at `end` of the list at key; the new length, or Redis-style error. */
export function pushValues(c: Ctx, key: Buffer, h: Entry | undefined, end: End, values: readonly Buffer[]): number | Reply {
  const positions = pushPositions(c, key, h, end, values.length);
  if (positions === null) return err(E_LIST_POSITIONS);
  for (let i = 0; i < values.length; i++) setElem(c, key, 'list', h, encodeListPosition(positions[i]!), values[i]!);
  return (h?.count ?? 0) + values.length;
}

/**
 * `take` elements after skipping `skip` from one end (head→tail from the left, tail→head from
 * the right), read in pages: about skip + take elements.
 */
export function walk(c: Ctx, key: Buffer, from: End, skip: number, take: number): Element[] {
  const out: Element[] = [];
  const reverse = from === 'right';
  let skipped = 0;
  let start: Buffer | undefined;
  while (out.length < take) {
    const limit = Math.min(ELEMENT_PAGE, skip - skipped + take - out.length);
    const page = c.view.elements(key, start === undefined ? { reverse, limit } : { start, exclusive: true, reverse, limit });
    for (const el of page) {
      if (skipped < skip) skipped++;
      else if (out.length < take) out.push(el);
    }
    if (page.length < limit) break;
    start = page[page.length - 1]!.elem;
  }
  return out;
}

/** Every element from one end on, lazily, in pages (LPOS, LREM, LINSERT stop at what they look for). */
export function* elementsFrom(c: Ctx, key: Buffer, from: End): Generator<Element> {
  const reverse = from === 'right';
  let start: Buffer | undefined;
  for (;;) {
    const page = c.view.elements(key, start === undefined ? { reverse, limit: ELEMENT_PAGE } : { start, exclusive: true, reverse, limit: ELEMENT_PAGE });
    yield* page;
    if (page.length < ELEMENT_PAGE) return;
    start = page[page.length - 1]!.elem;
  }
}

/** Elements at indexes first..last (0 <= first <= last < h.count) in list order, walked from the nearer end. */
export function range(c: Ctx, key: Buffer, h: Entry, first: number, last: number): Element[] {
  const n = last - first + 1;
  if (first <= h.count - 1 - last) return walk(c, key, 'left', first, n);
  return walk(c, key, 'right', h.count - 1 - last, n).reverse();
}

/** The element at a Redis index (negative from the tail), or undefined out of range. */
export function atIndex(c: Ctx, key: Buffer, h: Entry, index: bigint): Element | undefined {
  const i = index < 0n ? index + BigInt(h.count) : index;
  if (i < 0n || i >= BigInt(h.count)) return undefined;
  return range(c, key, h, Number(i), Number(i))[0];
}

/** Moves an element to a new position: the new one is set before the old one goes, so the list never looks empty. */
function move(c: Ctx, key: Buffer, h: Entry, el: Element, to: number): void {
  setElem(c, key, 'list', h, encodeListPosition(to), el.value);
  delElem(c, key, 'list', el.elem);
}

/**
 * Inserts `value` between adjacent elements `left` and `right` (either undefined at an end).
 * Takes the middle of the gap; without a gap, renumbers a window of neighbours around the
 * place (RENUMBER_WINDOW on each side, doubling) evenly over the window's span, emitting each
 * move as element ops. Null when even the whole list has no room (the position range is used up).
 */
export function insertBetween(c: Ctx, key: Buffer, h: Entry, left: Element | undefined, right: Element | undefined, value: Buffer): true | null {
  const p = left === undefined ? undefined : positionOf(left);
  const q = right === undefined ? undefined : positionOf(right);
  let at: number | undefined;
  if (p === undefined) at = Math.max(LIST_POSITION_MIN, q! - LIST_POSITION_STEP);
  else if (q === undefined) at = Math.min(LIST_POSITION_MAX, p + LIST_POSITION_STEP);
  else at = p + Math.floor((q - p) / 2);
  if (at !== p && at !== q) {
    setElem(c, key, 'list', h, encodeListPosition(at), value);
    return true;
  }
  for (let half = RENUMBER_WINDOW; ; half *= 2) {
    const before = left === undefined ? [] : c.view.elements(key, { start: left.elem, exclusive: true, reverse: true, limit: half });
    const after = right === undefined ? [] : c.view.elements(key, { start: right.elem, exclusive: true, limit: half });
    const headOpen = before.length < half;
    const tailOpen = after.length < half;
    // The window in list order, with undefined where the new element goes.
    const window: Array<Element | undefined> = [
      ...(headOpen ? before : before.slice(0, half - 1)).reverse(),
      ...(left === undefined ? [] : [left]),
      undefined,
      ...(right === undefined ? [] : [right]),
      ...(tailOpen ? after : after.slice(0, half - 1)),
    ];
    const firstPos = window[0] === undefined ? q! : positionOf(window[0]);
    const lastEl = window[window.length - 1];
    const lastPos = lastEl === undefined ? p! : positionOf(lastEl);
    const lo = headOpen ? Math.max(LIST_POSITION_MIN - 1, firstPos - LIST_POSITION_STEP) : positionOf(before[half - 1]!);
    const hi = tailOpen ? Math.min(LIST_POSITION_MAX + 1, lastPos + LIST_POSITION_STEP) : positionOf(after[half - 1]!);
    const step = Math.floor((hi - lo) / (window.length + 1));
    const whole = headOpen && tailOpen;
    if (step < 2 && !(whole && step >= 1)) {
      if (whole) return null;
      continue;
    }
    const target = window.map((_, i) => lo + step * (i + 1));
    // An order-preserving renumbering: an element moving left lands where nothing is, or where
    // one that moved left before it was; so left-movers go head first, right-movers tail first.
    for (let i = 0; i < window.length; i++) {
      const el = window[i];
      if (el !== undefined && target[i]! < positionOf(el)) move(c, key, h, el, target[i]!);
    }
    for (let i = window.length - 1; i >= 0; i--) {
      const el = window[i];
      if (el !== undefined && target[i]! > positionOf(el)) move(c, key, h, el, target[i]!);
    }
    setElem(c, key, 'list', h, encodeListPosition(target[window.indexOf(undefined)]!), value);
    return true;
  }
}
