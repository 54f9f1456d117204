// HyperLogLog commands (Redis 7.0's hyperloglog.c): PFADD PFCOUNT PFMERGE on string values in
// Redis's own HLL format (hll.ts). A write is replicated as the bytes it changed (writeChanges):
// a PFADD that raises one register of a dense HLL ships that register's bytes and the header's
// cache flag, not the 12 KiB value.
import { err, int, OK } from '../reply.ts';
import type { Entry } from '../types.ts';
import { E_WRONGTYPE, live, put } from './context.ts';
import type { Ctx, Handler } from './context.ts';
import { cachedCard, cacheValid, emptyHll, hllAdd, hllCount, hllMergeInto, hllStore, HLL_REGISTERS, invalidateCache, isDense, isHll, registersCount, setCachedCard } from './hll.ts';
import { writeChanges } from './string-writes.ts';

const E_NOT_HLL = 'WRONGTYPE Key is not a valid HyperLogLog string value.';
const E_CORRUPT = 'INVALIDOBJ Corrupted HLL object detected';

/** The live HLL at key: undefined if none, or the error reply for another type or a string that is no HLL. */
function hllAt(c: Ctx, key: Buffer): Entry | undefined | { error: string } {
  const e = live(c, key);
  if (e === undefined) return undefined;
  if (e.type !== 'string') return { error: E_WRONGTYPE };
  if (!isHll(e.value)) return { error: E_NOT_HLL };
  return e;
}

const pfadd: Handler = (c, a) => {
  const key = a[1]!;
  const e = hllAt(c, key);
  if (e !== undefined && 'error' in e) return err(e.error);
  let v = e?.value ?? emptyHll();
  let updated = e === undefined;
  for (let i = 2; i < a.length; i++) {
    const r = hllAdd(v, a[i]!);
    if (r === null) return err(E_CORRUPT);
    if (r.changed) {
      v = r.v;
      updated = true;
    }
  }
  if (!updated) return int(0);
  invalidateCache(v); // a copy: hllAdd copies what it changes, and a new HLL is new
  if (e === undefined) put(c, key, v, 0);
  else writeChanges(c, key, e, v);
  return int(1);
};

const pfcount: Handler = (c, a) => {
  if (a.length > 2) {
    const max = new Uint8Array(HLL_REGISTERS);
    for (let i = 1; i < a.length; i++) {
      const e = hllAt(c, a[i]!);
      if (e === undefined) continue;
      if ('error' in e) return err(e.error);
      if (!hllMergeInto(max, e.value)) return err(E_CORRUPT);
    }
    return int(registersCount(max));
  }
  const key = a[1]!;
  const e = hllAt(c, key);
  if (e === undefined) return int(0);
  if ('error' in e) return err(e.error);
  if (cacheValid(e.value)) return int(cachedCard(e.value));
  const card = hllCount(e.value);
  if (card === null) return err(E_CORRUPT);
  // The cache is part of the value (GET shows it): storing it is a write of those 8 bytes,
  // replicated from the primary; elsewhere the ops of a read are not kept.
  const v = Buffer.from(e.value);
  setCachedCard(v, card);
  writeChanges(c, key, e, v);
  return int(card);
};

const pfmerge: Handler = (c, a) => {
  const max = new Uint8Array(HLL_REGISTERS);
  let dense = false;
  // The destination is one of the inputs, as in Redis.
  for (let i = 1; i < a.length; i++) {
    const e = hllAt(c, a[i]!);
    if (e === undefined) continue;
    if ('error' in e) return err(e.error);
    if (isDense(e.value)) dense = true;
    if (!hllMergeInto(max, e.value)) return err(E_CORRUPT);
  }
  const key = a[1]!;
  const d = hllAt(c, key);
  const dest = d === undefined || 'error' in d ? undefined : d;
  const v = hllStore(dest?.value ?? emptyHll(), max, dense);
  if (v === null) return err(E_CORRUPT);
  if (dest === undefined) put(c, key, v, 0);
  else writeChanges(c, key, dest, v);
  return OK;
};

export const HLL_HANDLERS: ReadonlyArray<readonly [string, Handler]> = [
  ['pfadd', pfadd],
  ['pfcount', pfcount],
  ['pfmerge', pfmerge],
];
