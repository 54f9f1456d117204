// Binary encoding of an Update: the UpdateLog's record payload and the unit
// carried inside Append / PullData messages. Hand-written rather than a
// generic serializer so that the layout is fixed, documented, compact (varint
// integers, raw key/value bytes) and decoded strictly: a malformed or
// truncated input is a FRAME_CORRUPT error that says which field at which
// offset, never a RangeError and never a silently wrong value.
//
// Update, format 1:
//   u8      format (UPDATE_FORMAT_VERSION)
//   varint  lsn
//   varint  epoch
//   u8      kind            0 data, 1 config, 2 epoch-start
//   varint  dest count, then per node id: u8 byte length (1..255) + UTF-8 bytes
//   varint  region count, then varint per region
//   varint  op count, then per op:
//             u8 tag 0 put:  bytes key, bytes value, varint expireAtMs
//             u8 tag 1 del:  bytes key
//             u8 tag 2 flush
//             u8 tag 3 expire:    bytes key, varint expireAtMs
//             u8 tag 4 elem set:  bytes key, u8 type, bytes elem, bytes value
//             u8 tag 5 elem del:  bytes key, u8 type, bytes elem
//             u8 tag 6 script set: bytes sha, bytes body
//             u8 tag 7 script del: bytes sha
//           (type: 1 hash, 2 list, 3 set, 4 zset; tags 3-5 came with collections, 6-7 with
//           scripting, format 1 still: every older record decodes as before)
// Update, format 2 (written only when the update carries keyspace notifications): format 1's
// fields, then
//   varint  event count, then per event: u8 event code (KEY_EVENT_NAMES), varint op index
// (an update without events is still written as format 1, so those bytes never changed).
// where `bytes` is a varint length followed by that many raw bytes, and
// `varint` is unsigned LEB128 of a safe integer (at most 8 bytes, minimal).
//
// Region item list (region data), format 2: u8 format, varint count, then per item
//   u8 tag 0 key header: bytes key, u8 type (0 string), u8 big, bytes value, varint expireAtMs
//   u8 tag 1 element:    bytes key, bytes elem, bytes value
//   u8 tag 2 script:     bytes sha, bytes body
// (format 1 was the strings-only entry list: bytes key, bytes value, varint expireAtMs).
// EpochStart list, format 1: u8 format, varint count, then per item
//   varint epoch, varint startLsn.
import { assert } from '../lib/assert.ts';
import { UnderstudyError } from '../errors.ts';
import { stringEntry, TYPE_BY_CODE, TYPE_CODE } from '../core/collections.ts';
import type { CollectionType, EpochStart, KeyEvent, NodeId, Op, RegionItem, Update, UpdateKind } from '../core/types.ts';
import { KEY_EVENT_CODE, KEY_EVENT_NAMES } from '../core/kv/key-events.ts';

/** The leading format byte of an encoded Update; bump it when the layout changes. */
export const UPDATE_FORMAT_VERSION = 1;
/** The format byte of an update that carries keyspace notifications (format 1 + an event list). */
export const UPDATE_FORMAT_WITH_EVENTS = 2;
/** The leading format byte of an encoded region item list (2: typed items; 1 was strings only). */
export const REGION_ITEMS_FORMAT_VERSION = 2;
/** The leading format byte of an encoded EpochStart list. */
export const EPOCH_STARTS_FORMAT_VERSION = 1;
/** Node ids are short names ("n1"); one length byte bounds them and keeps them cheap on the wire. */
export const MAX_NODE_ID_BYTES = 255;
/** A safe integer needs at most 53 bits = 8 groups of 7. */
const MAX_VARINT_BYTES = 8;

const KIND_CODE = { data: 0, config: 1, 'epoch-start': 2 } as const satisfies Record<UpdateKind, number>;
const KIND_BY_CODE: readonly UpdateKind[] = ['data', 'config', 'epoch-start'];
const OP_PUT = 0;
const OP_DEL = 1;
const OP_FLUSH = 2;
const OP_EXPIRE = 3;
const OP_ELEM_SET = 4;
const OP_ELEM_DEL = 5;
const OP_SCRIPT_SET = 6;
const OP_SCRIPT_DEL = 7;
/** A range op: key, offset (varint), value. */
const OP_RANGE = 8;
const ITEM_KEY = 0;
const ITEM_ELEM = 1;
const ITEM_SCRIPT = 2;

// ---------------------------------------------------------------------------
// Primitive sizes, writer and reader (shared by the message codec and the
// peer handshake).

/** Bytes taken by `v` as a varint. */
export function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 0x80);
    n++;
  }
  return n;
}

/** Bytes taken by a length-prefixed byte string. */
export function bytesSize(b: Uint8Array): number {
  return varintSize(b.length) + b.length;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Bytes taken by a node id (one length byte + UTF-8); asserts it is encodable. */
export function nodeIdSize(id: NodeId): number {
  const n = Buffer.byteLength(id, 'utf8');
  // A lone surrogate would encode as U+FFFD and decode as a different id.
  assert(n >= 1 && n <= MAX_NODE_ID_BYTES && !LONE_SURROGATE.test(id), () => `node id ${JSON.stringify(id)} must be 1..${MAX_NODE_ID_BYTES} bytes of well-formed UTF-8`);
  return 1 + n;
}

/**
 * Writes into a buffer sized exactly beforehand (every encoder computes its size
 * first, so an encode is one allocation and no copying).
 */
export class ByteWriter {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start = 0,
  ) {
    this.pos = start;
  }

  u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  bool(v: boolean): void {
    this.buf[this.pos++] = v ? 1 : 0;
  }

  /** Unsigned LEB128 of a non-negative safe integer. */
  varint(v: number): void {
    assert(Number.isSafeInteger(v) && v >= 0, () => `varint must be a non-negative safe integer, got ${v}`);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  raw(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A varint length followed by the bytes. */
  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.raw(b);
  }

  nodeId(id: NodeId): void {
    const n = this.buf.write(id, this.pos + 1, 'utf8');
    this.buf[this.pos] = n;
    this.pos += 1 + n;
  }

  /** Asserts the precomputed size was exact. */
  done(): Buffer {
    assert(this.pos === this.buf.length, () => `encoder size mismatch: wrote ${this.pos} of ${this.buf.length} bytes`);
    return this.buf;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Strict reader: every read checks bounds and throws FRAME_CORRUPT naming the
 * structure (`what`), the field and the offset.
 */
export class ByteReader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    readonly what: string,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  fail(field: string, problem: string): never {
    throw new UnderstudyError('FRAME_CORRUPT', `${this.what}: ${problem} in '${field}' at offset ${this.pos}`, {
      what: this.what,
      field,
      offset: this.pos,
    });
  }

  private need(field: string, n: number): void {
    if (this.end - this.pos < n) this.fail(field, `truncated (need ${n} bytes, ${this.end - this.pos} left)`);
  }

  u8(field: string): number {
    this.need(field, 1);
    return this.buf[this.pos++]!;
  }

  bool(field: string): boolean {
    const b = this.u8(field);
    if (b > 1) {
      this.pos--;
      this.fail(field, `boolean byte must be 0 or 1, got ${b}`);
    }
    return b === 1;
  }

  varint(field: string): number {
    const start = this.pos;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.pos >= this.end) {
        this.pos = start;
        this.fail(field, 'truncated varint');
      }
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) {
          this.pos = start;
          this.fail(field, 'non-minimal varint');
        }
        if (result > Number.MAX_SAFE_INTEGER) {
          this.pos = start;
          this.fail(field, 'varint exceeds the largest safe integer');
        }
        return result;
      }
      mul *= 0x80;
    }
    this.pos = start;
    this.fail(field, `varint longer than ${MAX_VARINT_BYTES} bytes`);
  }

  /**
   * A count of following elements, each at least `minElementBytes` long: checked
   * against what is left so a corrupt count never allocates a huge array.
   */
  count(field: string, minElementBytes: number): number {
    const start = this.pos;
    const n = this.varint(field);
    if (n * minElementBytes > this.end - this.pos) {
      this.pos = start;
      this.fail(field, `count ${n} cannot fit in the ${this.end - this.pos} bytes left`);
    }
    return n;
  }

  /** Exactly n raw bytes, copied (decoded values outlive the frame they came in). */
  raw(field: string, n: number): Buffer {
    this.need(field, n);
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  /** A varint length followed by that many bytes, copied. */
  bytes(field: string): Buffer {
    const start = this.pos;
    const n = this.varint(field);
    if (n > this.end - this.pos) {
      this.pos = start;
      this.fail(field, `byte string of ${n} bytes exceeds the ${this.end - this.pos} bytes left`);
    }
    return this.raw(field, n);
  }

  nodeId(field: string): NodeId {
    const start = this.pos;
    const n = this.u8(field);
    if (n === 0) {
      this.pos = start;
      this.fail(field, 'empty node id');
    }
    this.need(field, n);
    let s: string;
    try {
      s = utf8.decode(this.buf.subarray(this.pos, this.pos + n));
    } catch {
      this.pos = start;
      this.fail(field, 'node id is not valid UTF-8');
    }
    this.pos += n;
    return s;
  }

  /** Every byte must have been consumed: trailing bytes mean a framing or version mismatch. */
  finish(): void {
    if (this.pos !== this.end) this.fail('end', `${this.end - this.pos} trailing bytes`);
  }
}

function assertCount(v: number, field: string): void {
  assert(Number.isSafeInteger(v) && v >= 0, () => `${field} must be a non-negative safe integer, got ${v}`);
}

// ---------------------------------------------------------------------------
// Update

function opSize(op: Op): number {
  switch (op.k) {
    case 'put':
      assertCount(op.expireAtMs, 'expireAtMs');
      return 1 + bytesSize(op.key) + bytesSize(op.value) + varintSize(op.expireAtMs);
    case 'del':
      return 1 + bytesSize(op.key);
    case 'flush':
      return 1;
    case 'expire':
      assertCount(op.expireAtMs, 'expireAtMs');
      return 1 + bytesSize(op.key) + varintSize(op.expireAtMs);
    case 'elem':
      return 2 + bytesSize(op.key) + bytesSize(op.elem) + (op.value === null ? 0 : bytesSize(op.value));
    case 'script':
      return 1 + bytesSize(op.key) + (op.value === null ? 0 : bytesSize(op.value));
    case 'range':
      assertCount(op.offset, 'offset');
      return 1 + bytesSize(op.key) + varintSize(op.offset) + bytesSize(op.value);
  }
}

/** Exact size in bytes of encodeUpdate(u); lets callers preallocate and check limits. */
export function encodedSize(u: Update): number {
  assertCount(u.lsn, 'lsn');
  assertCount(u.epoch, 'epoch');
  let n = 1 + varintSize(u.lsn) + varintSize(u.epoch) + 1;
  n += varintSize(u.dest.length);
  for (const d of u.dest) n += nodeIdSize(d);
  n += varintSize(u.regions.length);
  for (const r of u.regions) {
    assertCount(r, 'region');
    n += varintSize(r);
  }
  n += varintSize(u.ops.length);
  for (const op of u.ops) n += opSize(op);
  if (u.keyEvents?.length) {
    n += varintSize(u.keyEvents.length);
    for (const e of u.keyEvents) {
      assert(KEY_EVENT_CODE.has(e.event) && e.op < u.ops.length && u.ops[e.op]!.k !== 'flush', () => `key event ${e.event} on op ${e.op} of ${u.ops.length} is not encodable`);
      n += 1 + varintSize(e.op);
    }
  }
  return n;
}

/** Writes u (format byte included) at w.pos; w must have encodedSize(u) bytes room. */
export function writeUpdate(w: ByteWriter, u: Update): void {
  const events = u.keyEvents?.length ? u.keyEvents : null;
  w.u8(events ? UPDATE_FORMAT_WITH_EVENTS : UPDATE_FORMAT_VERSION);
  w.varint(u.lsn);
  w.varint(u.epoch);
  w.u8(KIND_CODE[u.kind]);
  w.varint(u.dest.length);
  for (const d of u.dest) w.nodeId(d);
  w.varint(u.regions.length);
  for (const r of u.regions) w.varint(r);
  w.varint(u.ops.length);
  for (const op of u.ops) {
    switch (op.k) {
      case 'put':
        w.u8(OP_PUT);
        w.bytes(op.key);
        w.bytes(op.value);
        w.varint(op.expireAtMs);
        break;
      case 'del':
        w.u8(OP_DEL);
        w.bytes(op.key);
        break;
      case 'flush':
        w.u8(OP_FLUSH);
        break;
      case 'expire':
        w.u8(OP_EXPIRE);
        w.bytes(op.key);
        w.varint(op.expireAtMs);
        break;
      case 'elem':
        w.u8(op.value === null ? OP_ELEM_DEL : OP_ELEM_SET);
        w.bytes(op.key);
        w.u8(TYPE_CODE[op.type]);
        w.bytes(op.elem);
        if (op.value !== null) w.bytes(op.value);
        break;
      case 'script':
        w.u8(op.value === null ? OP_SCRIPT_DEL : OP_SCRIPT_SET);
        w.bytes(op.key);
        if (op.value !== null) w.bytes(op.value);
        break;
      case 'range':
        w.u8(OP_RANGE);
        w.bytes(op.key);
        w.varint(op.offset);
        w.bytes(op.value);
        break;
    }
  }
  if (events) {
    w.varint(events.length);
    for (const e of events) {
      w.u8(KEY_EVENT_CODE.get(e.event)!);
      w.varint(e.op);
    }
  }
}

/** A collection type byte (1..4). */
function readCollectionType(r: ByteReader, field: string): CollectionType {
  const code = r.u8(field);
  const type = TYPE_BY_CODE[code];
  if (type === undefined || type === 'string') {
    r.pos--;
    r.fail(field, `unknown collection type ${code}`);
  }
  return type;
}

/** Reads one Update starting at r.pos (format byte included). */
export function readUpdate(r: ByteReader): Update {
  const format = r.u8('format');
  if (format !== UPDATE_FORMAT_VERSION && format !== UPDATE_FORMAT_WITH_EVENTS) {
    r.pos--;
    r.fail('format', `unsupported update format ${format} (this build reads formats ${UPDATE_FORMAT_VERSION} and ${UPDATE_FORMAT_WITH_EVENTS})`);
  }
  const lsn = r.varint('lsn');
  const epoch = r.varint('epoch');
  const kindCode = r.u8('kind');
  const kind = KIND_BY_CODE[kindCode];
  if (kind === undefined) {
    r.pos--;
    r.fail('kind', `unknown update kind ${kindCode}`);
  }
  const destCount = r.count('dest.length', 2);
  const dest: NodeId[] = new Array<NodeId>(destCount);
  for (let i = 0; i < destCount; i++) dest[i] = r.nodeId('dest');
  const regionCount = r.count('regions.length', 1);
  const regions: number[] = new Array<number>(regionCount);
  for (let i = 0; i < regionCount; i++) regions[i] = r.varint('regions');
  const opCount = r.count('ops.length', 1);
  const ops: Op[] = new Array<Op>(opCount);
  for (let i = 0; i < opCount; i++) {
    const tag = r.u8('op.tag');
    if (tag === OP_PUT) {
      const key = r.bytes('op.key');
      const value = r.bytes('op.value');
      const expireAtMs = r.varint('op.expireAtMs');
      ops[i] = { k: 'put', key, value, expireAtMs };
    } else if (tag === OP_DEL) {
      ops[i] = { k: 'del', key: r.bytes('op.key') };
    } else if (tag === OP_FLUSH) {
      ops[i] = { k: 'flush' };
    } else if (tag === OP_EXPIRE) {
      ops[i] = { k: 'expire', key: r.bytes('op.key'), expireAtMs: r.varint('op.expireAtMs') };
    } else if (tag === OP_ELEM_SET || tag === OP_ELEM_DEL) {
      const key = r.bytes('op.key');
      const type = readCollectionType(r, 'op.type');
      const elem = r.bytes('op.elem');
      ops[i] = { k: 'elem', key, type, elem, value: tag === OP_ELEM_SET ? r.bytes('op.value') : null };
    } else if (tag === OP_SCRIPT_SET || tag === OP_SCRIPT_DEL) {
      const key = r.bytes('op.key');
      ops[i] = { k: 'script', key, value: tag === OP_SCRIPT_SET ? r.bytes('op.value') : null };
    } else if (tag === OP_RANGE) {
      const key = r.bytes('op.key');
      const offset = r.varint('op.offset');
      ops[i] = { k: 'range', key, offset, value: r.bytes('op.value') };
    } else {
      r.pos--;
      r.fail('op.tag', `unknown op tag ${tag}`);
    }
  }
  if (format === UPDATE_FORMAT_VERSION) return { lsn, epoch, dest, kind, ops, regions };
  // Smallest event: code byte + one-byte op index.
  const eventCount = r.count('keyEvents.length', 2);
  const keyEvents: KeyEvent[] = new Array<KeyEvent>(eventCount);
  for (let i = 0; i < eventCount; i++) {
    const code = r.u8('keyEvent.code');
    const event = KEY_EVENT_NAMES[code];
    if (event === undefined) {
      r.pos--;
      r.fail('keyEvent.code', `unknown key event code ${code}`);
    }
    const op = r.varint('keyEvent.op');
    if (op >= opCount || ops[op]!.k === 'flush') r.fail('keyEvent.op', `key event on op ${op}, not a keyed op of this update's ${opCount}`);
    keyEvents[i] = { event, op };
  }
  return { lsn, epoch, dest, kind, ops, regions, keyEvents };
}

/** The binary form of an Update: an UpdateLog record payload. */
export function encodeUpdate(u: Update): Buffer {
  const w = new ByteWriter(Buffer.allocUnsafe(encodedSize(u)));
  writeUpdate(w, u);
  return w.done();
}

/** Strict inverse of encodeUpdate: the whole buffer must be exactly one Update. */
export function decodeUpdate(buf: Uint8Array): Update {
  const r = new ByteReader(buf, 'update');
  const u = readUpdate(r);
  r.finish();
  return u;
}

// ---------------------------------------------------------------------------
// Region items (region data)

/** Size of the body of a region item list (without the format byte). */
export function regionItemsBodySize(items: readonly RegionItem[]): number {
  let n = varintSize(items.length);
  for (const it of items) {
    if (it.t === 'key') {
      assertCount(it.entry.expireAtMs, 'expireAtMs');
      n += 3 + bytesSize(it.key) + bytesSize(it.entry.value) + varintSize(it.entry.expireAtMs);
    } else if (it.t === 'elem') n += 1 + bytesSize(it.key) + bytesSize(it.elem) + bytesSize(it.value);
    else n += 1 + bytesSize(it.key) + bytesSize(it.value);
  }
  return n;
}

export function writeRegionItemsBody(w: ByteWriter, items: readonly RegionItem[]): void {
  w.varint(items.length);
  for (const it of items) {
    if (it.t === 'key') {
      w.u8(ITEM_KEY);
      w.bytes(it.key);
      w.u8(TYPE_CODE[it.entry.type]);
      w.bool(it.entry.big);
      w.bytes(it.entry.value);
      w.varint(it.entry.expireAtMs);
    } else if (it.t === 'elem') {
      w.u8(ITEM_ELEM);
      w.bytes(it.key);
      w.bytes(it.elem);
      w.bytes(it.value);
    } else {
      w.u8(ITEM_SCRIPT);
      w.bytes(it.key);
      w.bytes(it.value);
    }
  }
}

export function readRegionItemsBody(r: ByteReader): RegionItem[] {
  // Smallest item: tag + empty key + empty elem + empty value (4).
  const n = r.count('items.length', 4);
  const out = new Array<RegionItem>(n);
  for (let i = 0; i < n; i++) {
    const tag = r.u8('item.tag');
    const key = r.bytes('item.key');
    if (tag === ITEM_KEY) {
      const code = r.u8('item.type');
      const type = TYPE_BY_CODE[code];
      if (type === undefined) {
        r.pos--;
        r.fail('item.type', `unknown value type ${code}`);
      }
      const big = r.bool('item.big');
      const value = r.bytes('item.value');
      const expireAtMs = r.varint('item.expireAtMs');
      const entry = type === 'string' ? stringEntry(value, expireAtMs) : { type, value, expireAtMs, count: 0, big };
      out[i] = { t: 'key', key, entry };
    } else if (tag === ITEM_ELEM) {
      const elem = r.bytes('item.elem');
      out[i] = { t: 'elem', key, elem, value: r.bytes('item.value') };
    } else if (tag === ITEM_SCRIPT) {
      out[i] = { t: 'script', key, value: r.bytes('item.value') };
    } else {
      r.fail('item.tag', `unknown region item tag ${tag}`);
    }
  }
  return out;
}

/** A chunk of a region's content as one byte string (for region resync and snapshots). */
export function encodeRegionItems(items: readonly RegionItem[]): Buffer {
  const w = new ByteWriter(Buffer.allocUnsafe(1 + regionItemsBodySize(items)));
  w.u8(REGION_ITEMS_FORMAT_VERSION);
  writeRegionItemsBody(w, items);
  return w.done();
}

export function decodeRegionItems(buf: Uint8Array): RegionItem[] {
  const r = new ByteReader(buf, 'region-items');
  const format = r.u8('format');
  if (format !== REGION_ITEMS_FORMAT_VERSION) {
    r.pos--;
    r.fail('format', `unsupported region items format ${format} (this build reads format ${REGION_ITEMS_FORMAT_VERSION})`);
  }
  const out = readRegionItemsBody(r);
  r.finish();
  return out;
}

// ---------------------------------------------------------------------------
// EpochStart lists (log epoch history)

export function epochStartsBodySize(list: readonly EpochStart[]): number {
  let n = varintSize(list.length);
  for (const e of list) {
    assertCount(e.epoch, 'epoch');
    assertCount(e.startLsn, 'startLsn');
    n += varintSize(e.epoch) + varintSize(e.startLsn);
  }
  return n;
}

export function writeEpochStartsBody(w: ByteWriter, list: readonly EpochStart[]): void {
  w.varint(list.length);
  for (const e of list) {
    w.varint(e.epoch);
    w.varint(e.startLsn);
  }
}

export function readEpochStartsBody(r: ByteReader): EpochStart[] {
  const n = r.count('history.length', 2);
  const out = new Array<EpochStart>(n);
  for (let i = 0; i < n; i++) {
    const epoch = r.varint('history.epoch');
    const startLsn = r.varint('history.startLsn');
    out[i] = { epoch, startLsn };
  }
  return out;
}

/** A log's epoch history as one byte string (sync-state, and the log's own metadata). */
export function encodeEpochStarts(list: readonly EpochStart[]): Buffer {
  const w = new ByteWriter(Buffer.allocUnsafe(1 + epochStartsBodySize(list)));
  w.u8(EPOCH_STARTS_FORMAT_VERSION);
  writeEpochStartsBody(w, list);
  return w.done();
}

export function decodeEpochStarts(buf: Uint8Array): EpochStart[] {
  const r = new ByteReader(buf, 'epoch-starts');
  const format = r.u8('format');
  if (format !== EPOCH_STARTS_FORMAT_VERSION) {
    r.pos--;
    r.fail('format', `unsupported epoch-starts format ${format} (this build reads format ${EPOCH_STARTS_FORMAT_VERSION})`);
  }
  const out = readEpochStartsBody(r);
  r.finish();
  return out;
}
