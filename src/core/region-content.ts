// A region's content as a stream of items — each key's header, then a collection's elements
// in element order — read in bounded chunks from any StateReader. Region resync ships these
// chunks (a huge collection spans many, so no message holds it whole) and both storage areas
// hash the same stream for their region digests, so equal content gives equal digests
// whichever store holds it.
import type { StateReader } from './state-reader.ts';
import { entryBytes } from './log-view.ts';
import type { RegionItem } from './types.ts';
import { MAX_KEY_BYTES } from './kv/arguments.ts';

/**
 * The cursor key of a chunk that ended among the region's scripts (its elem is the last sha):
 * one byte longer than any stored key can be, so it never names a key.
 */
export const SCRIPTS_CURSOR_KEY: Buffer = Buffer.alloc(MAX_KEY_BYTES + 1, 0xff);

/** Where a chunk ends: after the header of `key` (elem null) or after its element `elem`. */
export interface RegionCursor {
  readonly key: Buffer;
  readonly elem: Buffer | null;
}

/** Where a chunk ending with `item` ended: the cursor the next chunk names (afterKey, afterElem). */
export function cursorAfter(item: RegionItem): RegionCursor {
  if (item.t === 'script') return { key: SCRIPTS_CURSOR_KEY, elem: item.key };
  return { key: item.key, elem: item.t === 'elem' ? item.elem : null };
}

export interface RegionChunk {
  readonly items: RegionItem[];
  /** Where the next chunk starts; null when the region is exhausted. */
  readonly next: RegionCursor | null;
}

/** Headers read per storage call while walking a region. */
const HEADER_PAGE = 64;

/** What a region item counts against a chunk's byte budget (as opsBytes counts a put). */
function itemBytes(item: RegionItem): number {
  if (item.t === 'key') return entryBytes(item.key, item.entry.value);
  return entryBytes(item.key, item.value) + (item.t === 'elem' ? item.elem.length : 0);
}

/**
 * Up to `limit` (≥ 1) items of `region` after `after` (from the start when undefined), and no
 * more than `maxBytes` of them as itemBytes counts (but never none). A collection whose header
 * is in one chunk continues in the next from the cursor's element.
 */
export function readRegionChunk(reader: StateReader, region: number, after: RegionCursor | undefined, limit: number, maxBytes = Infinity): RegionChunk {
  const items: RegionItem[] = [];
  let last: RegionCursor | undefined = after;
  let bytes = 0;
  /** Adds an item unless the byte budget is spent (the first item always goes). */
  const add = (item: RegionItem): boolean => {
    const n = itemBytes(item);
    if (items.length > 0 && bytes + n > maxBytes) {
      limit = items.length; // the chunk is full
      return false;
    }
    bytes += n;
    items.push(item);
    last = cursorAfter(item);
    return true;
  };
  // The region's cached scripts come first (few and small next to its keys), then its keys.
  if (after === undefined || after.key.equals(SCRIPTS_CURSOR_KEY)) {
    let afterSha = after?.elem ?? undefined;
    for (;;) {
      const want = limit - items.length;
      if (want <= 0) return { items, next: last! };
      const page = reader.regionScripts?.(region, afterSha, want) ?? [];
      for (const [sha, body] of page) if (!add({ t: 'script', key: sha, value: body })) return { items, next: last! };
      if (page.length < want) break;
      afterSha = page[page.length - 1]![0];
    }
    after = undefined;
  }
  /** Appends key's elements after `from` until the chunk is full; true if the key is done. */
  const elements = (key: Buffer, from: Buffer | null): boolean => {
    let start = from;
    for (;;) {
      const want = limit - items.length;
      if (want <= 0) return false;
      const page = reader.elements(key, start === null ? { limit: want } : { start, exclusive: true, limit: want });
      for (const el of page) if (!add({ t: 'elem', key, elem: el.elem, value: el.value })) return false;
      if (page.length > 0) start = page[page.length - 1]!.elem;
      if (page.length < want) return true;
    }
  };
  if (after !== undefined) {
    const h = reader.get(after.key);
    if (h !== undefined && h.type !== 'string' && !elements(after.key, after.elem)) return { items, next: last! };
  }
  let afterKey = after?.key;
  for (;;) {
    const page = reader.regionEntries(region, afterKey, HEADER_PAGE);
    for (const [key, entry] of page) {
      if (items.length >= limit || !add({ t: 'key', key, entry })) return { items, next: last! };
      if (entry.type !== 'string' && !elements(key, null)) return { items, next: last! };
    }
    if (page.length < HEADER_PAGE) return { items, next: null };
    afterKey = page[page.length - 1]![0];
  }
}

/** Calls fn for every item of the region in stream order, chunk by chunk. */
export function forEachRegionItem(reader: StateReader, region: number, fn: (item: RegionItem) => void, chunk = 256): void {
  let after: RegionCursor | undefined;
  for (;;) {
    const c = readRegionChunk(reader, region, after, chunk);
    for (const it of c.items) fn(it);
    if (c.next === null) return;
    after = c.next;
  }
}
