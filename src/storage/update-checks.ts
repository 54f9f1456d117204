// Checks shared by every StorageArea implementation, so that the in-memory
// store and the LMDB store accept and refuse exactly the same updates (the
// simulator runs on one, production on the other: they must not diverge).
import { MAX_ELEMENT_KEY_BYTES } from '../core/collections.ts';
import type { Lsn, Op, RegionItem, Update } from '../core/types.ts';
import { MAX_KEY_BYTES } from '../core/kv/arguments.ts';
import { REGION_COUNT, regionOfKey } from '../core/regions.ts';
import { UnderstudyError } from '../errors.ts';
import { assert } from '../lib/assert.ts';

/**
 * Longest key a storage area accepts, in bytes (LMDB's compiled-in maximum key size less the
 * region prefix). The in-memory store enforces it too, and the executor refuses any write of a
 * longer key (src/core/kv/arguments.ts), so no client can reach this refusal.
 */
export { MAX_KEY_BYTES };

/** Refuses an update whose lsn does not move the storage area forward. */
export function checkApplyOrder(appliedLsn: Lsn, update: Update): void {
  assert(Number.isSafeInteger(update.lsn) && update.lsn > 0, () => `update lsn must be a positive integer, got ${update.lsn}`);
  if (update.lsn <= appliedLsn) {
    throw new UnderstudyError(
      'STORAGE_OUT_OF_ORDER',
      `update lsn ${update.lsn} is not above the applied lsn ${appliedLsn}: updates must be applied in increasing lsn order`,
      { lsn: update.lsn, appliedLsn },
    );
  }
}

export function checkKey(key: Buffer): void {
  if (key.length > MAX_KEY_BYTES) {
    throw new UnderstudyError('STORAGE_KEY_TOO_LARGE', `key of ${key.length} bytes exceeds the limit of ${MAX_KEY_BYTES} bytes`, {
      keyBytes: key.length,
      limit: MAX_KEY_BYTES,
    });
  }
}

export function checkExpiry(expireAtMs: number): void {
  assert(Number.isSafeInteger(expireAtMs) && expireAtMs >= 0, () => `expireAtMs must be a non-negative integer, got ${expireAtMs}`);
}

/** Validates every op before any is applied, so a refused update changes nothing. */
export function checkOps(ops: readonly Op[]): void {
  for (const op of ops) {
    if (op.k === 'flush') continue;
    checkKey(op.key);
    if (op.k === 'put' || op.k === 'expire') checkExpiry(op.expireAtMs);
    if (op.k === 'elem') checkElement(op.key, op.elem);
    if (op.k === 'range') {
      assert(Number.isSafeInteger(op.offset) && op.offset >= 0 && Number.isSafeInteger(op.offset + op.value.length), () => `range offset must be a non-negative integer, got ${op.offset}`);
    }
  }
}

/** Refuses an element whose composite LMDB key (key + element) would be too long to store. */
export function checkElement(key: Buffer, elem: Buffer): void {
  if (key.length + elem.length > MAX_ELEMENT_KEY_BYTES) {
    throw new UnderstudyError(
      'STORAGE_KEY_TOO_LARGE',
      `key of ${key.length} bytes and element of ${elem.length} bytes exceed the limit of ${MAX_ELEMENT_KEY_BYTES} bytes together`,
      { keyBytes: key.length, elementBytes: elem.length, limit: MAX_ELEMENT_KEY_BYTES },
    );
  }
}

export function checkRegion(region: number): void {
  assert(Number.isInteger(region) && region >= 0 && region < REGION_COUNT, () => `region must be an integer in [0, ${REGION_COUNT}), got ${region}`);
}

/**
 * Validates a chunk of a region resync: every key must belong to the region being installed,
 * and an element must follow its collection's header (in this chunk or the installed ones).
 */
export function checkRegionItems(region: number, items: readonly RegionItem[]): void {
  checkRegion(region);
  for (const item of items) {
    checkKey(item.key);
    if (item.t === 'key') checkExpiry(item.entry.expireAtMs);
    else if (item.t === 'elem') checkElement(item.key, item.elem);
    assert(regionOfKey(item.key) === region, () => `key ${item.key.toString('hex')} belongs to region ${regionOfKey(item.key)}, not ${region}`);
  }
}

export function checkLsn(lsn: Lsn): void {
  assert(Number.isSafeInteger(lsn) && lsn >= 0, () => `lsn must be a non-negative integer, got ${lsn}`);
}

export function checkLimit(limit: number): void {
  assert(Number.isSafeInteger(limit) && limit >= 0, () => `limit must be a non-negative integer, got ${limit}`);
}
