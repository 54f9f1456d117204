// How every command that changes part of a string (SETBIT, BITFIELD, PFADD, PFCOUNT's cache,
// PFMERGE, SETRANGE, APPEND) writes it: as range ops of the bytes it changed, so replication,
// the log and storage carry those bytes and not the whole value (Op 'range').
import type { Entry } from '../types.ts';
import { dropStale, put } from './context.ts';
import type { Ctx } from './context.ts';

/**
 * Changed stretches of a value closer than this are shipped as one range: a range op costs
 * about this much in framing, so shipping the unchanged bytes between is no dearer.
 */
const RANGE_JOIN_GAP_BYTES = 16;
const EMPTY = Buffer.alloc(0);

/**
 * Writes `bytes` at byte `offset` of the string at key (`old`: its live entry, or undefined
 * when there is none), zero-filling any gap past its end; keeps its expiry.
 */
export function writeBytes(c: Ctx, key: Buffer, old: Entry | undefined, offset: number, bytes: Buffer): void {
  // A stale (expired) value still stored must not lend its bytes or expiry to the new string.
  if (old === undefined) dropStale(c, key);
  c.ops.push({ k: 'range', key, offset, value: bytes });
}

/**
 * Replaces the live string `old` at key by `next`, shipping only the stretches that differ
 * (a shorter result, which a range cannot express, is a put of the whole value).
 */
export function writeChanges(c: Ctx, key: Buffer, old: Entry, next: Buffer): void {
  if (next.length < old.value.length) put(c, key, next, old.expireAtMs);
  else writeChanged(c, key, old, 0, next);
}

/**
 * Writes `next` at byte `at` of the string at key (`old`: its live entry, or undefined), as
 * range ops of only the stretches that differ from what is there; bytes past its end are
 * always written (they make it longer).
 */
export function writeChanged(c: Ctx, key: Buffer, old: Entry | undefined, at: number, next: Buffer): void {
  if (old === undefined) dropStale(c, key);
  const prev = old?.value ?? EMPTY;
  // Bytes of `next` that lie over the old value.
  const common = Math.max(0, Math.min(prev.length - at, next.length));
  let i = 0;
  while (i < common) {
    if (prev[at + i] === next[i]) {
      i++;
      continue;
    }
    // A differing stretch, extended over gaps shorter than RANGE_JOIN_GAP_BYTES.
    const start = i;
    let end = i + 1;
    for (let j = end; j < common && j - end < RANGE_JOIN_GAP_BYTES; j++) if (prev[at + j] !== next[j]) end = j + 1;
    if (end >= common - RANGE_JOIN_GAP_BYTES && next.length > common) end = next.length;
    c.ops.push({ k: 'range', key, offset: at + start, value: next.subarray(start, end) });
    i = end;
  }
  if (next.length > Math.max(i, common)) {
    const from = Math.max(i, common);
    c.ops.push({ k: 'range', key, offset: at + from, value: next.subarray(from) });
  }
}
