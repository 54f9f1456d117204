// Digests of stored content. Nodes compare them after quiescence (every live
// node's storage area must be identical) and before and after a region resync,
// so the encoding is fixed here and shared by every StorageArea implementation:
// equal content gives equal digests whichever store holds it.
import { createHash, type Hash } from 'node:crypto';
import { TYPE_CODE } from '../core/collections.ts';
import { forEachRegionItem } from '../core/region-content.ts';
import type { StateReader } from '../core/state-reader.ts';
import type { RegionItem } from '../core/types.ts';
import { REGION_COUNT } from '../core/regions.ts';
import { assert } from '../lib/assert.ts';

const TWO_POW_32 = 0x1_0000_0000;

/**
 * Accumulates one region's content, fed as its item stream (readRegionChunk order: key by key
 * in key byte order, a collection's elements after its header). A header is hashed as tag 0,
 * u32 key length, key, type code, big flag, u32 value length, value, u64 expireAtMs; an
 * element as tag 1, u32 element length, element, u32 value length, value (big-endian), a
 * cached script as tag 2, u32 sha length, sha, u32 body length, body, so no
 * two different streams hash the same bytes.
 */
export class RegionDigest {
  private readonly hash: Hash = createHash('sha256');
  private readonly header = Buffer.alloc(4);
  private readonly expiry = Buffer.alloc(8);
  private readonly tag = Buffer.alloc(3);

  add(item: RegionItem): void {
    if (item.t === 'key') {
      this.tag[0] = 0;
      this.tag[1] = TYPE_CODE[item.entry.type];
      this.tag[2] = item.entry.big ? 1 : 0;
      this.hash.update(this.tag);
      this.bytes(item.key);
      this.bytes(item.entry.value);
      writeExpiry(this.expiry, 0, item.entry.expireAtMs);
      this.hash.update(this.expiry);
    } else if (item.t === 'script') {
      this.tag[0] = 2;
      this.tag[1] = 0;
      this.tag[2] = 0;
      this.hash.update(this.tag);
      this.bytes(item.key);
      this.bytes(item.value);
    } else {
      this.tag[0] = 1;
      this.tag[1] = 0;
      this.tag[2] = 0;
      this.hash.update(this.tag);
      this.bytes(item.elem);
      this.bytes(item.value);
    }
  }

  private bytes(b: Buffer): void {
    this.header.writeUInt32BE(b.length, 0);
    this.hash.update(this.header);
    this.hash.update(b);
  }

  hex(): string {
    return this.hash.digest('hex');
  }
}

/** The digest of one region of any StateReader (both storage areas use it). */
export function digestRegion(reader: StateReader, region: number): string {
  const digest = new RegionDigest();
  forEachRegionItem(reader, region, (item) => digest.add(item));
  return digest.hex();
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
