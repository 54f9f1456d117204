// Digests of stored content. Nodes compare them after quiescence (every live
// node's storage area must be identical) and before and after a region resync,
// so the encoding is fixed here and shared by every StorageArea implementation:
// equal content gives equal digests whichever store holds it.
import { createHash, type Hash } from 'node:crypto';
import type { Entry } from '../core/types.ts';
import { REGION_COUNT } from '../core/regions.ts';
import { assert } from '../lib/assert.ts';

const TWO_POW_32 = 0x1_0000_0000;

/**
 * Accumulates one region's entries, fed in key byte order. Each entry is hashed as
 * u32 key length, key, u32 value length, value, u64 expireAtMs (all big-endian), so no two
 * different sequences of entries hash the same bytes.
 */
export class RegionDigest {
  private readonly hash: Hash = createHash('sha256');
  private readonly header = Buffer.alloc(4);
  private readonly expiry = Buffer.alloc(8);

  add(key: Buffer, entry: Entry): void {
    this.header.writeUInt32BE(key.length, 0);
    this.hash.update(this.header);
    this.hash.update(key);
    this.header.writeUInt32BE(entry.value.length, 0);
    this.hash.update(this.header);
    this.hash.update(entry.value);
    writeExpiry(this.expiry, 0, entry.expireAtMs);
    this.hash.update(this.expiry);
  }

  hex(): string {
    return this.hash.digest('hex');
  }
}

/** Writes expireAtMs (a non-negative safe integer) as a big-endian u64. */
export function writeExpiry(buf: Buffer, offset: number, expireAtMs: number): void {
  buf.writeUInt32BE(Math.floor(expireAtMs / TWO_POW_32), offset);
  buf.writeUInt32BE(expireAtMs % TWO_POW_32, offset + 4);
}

export function readExpiry(buf: Buffer, offset: number): number {
  return buf.readUInt32BE(offset) * TWO_POW_32 + buf.readUInt32BE(offset + 4);
}

/** The whole store's digest: a hash of the REGION_COUNT region digests in region order. */
export function combineRegionDigests(regionDigests: readonly string[]): string {
  assert(regionDigests.length === REGION_COUNT, () => `expected ${REGION_COUNT} region digests, got ${regionDigests.length}`);
  const hash = createHash('sha256');
  for (const d of regionDigests) hash.update(Buffer.from(d, 'hex'));
  return hash.digest('hex');
}
