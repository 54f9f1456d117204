// Binary encoding of every peer Message: one type byte per kind, then the
// fields in declaration order (integers as varints, updates in the
// update-codec layout with a length prefix so the UpdateLog could store them
// byte for byte). The codec table is a mapped type over Message['t'], so a new
// message kind without a codec fails type-checking.
//
// Encoding computes the exact size first and writes into one buffer; the peer
// transport uses `messageSize` + `writeMessage` to encode straight into a frame.
import { assert } from '../lib/assert.ts';
import { UnderstudyError } from '../errors.ts';
import type { Message, MessageType } from '../core/messages.ts';
import type { Update } from '../core/types.ts';
import {
  ByteReader,
  ByteWriter,
  bytesSize,
  encodedSize,
  regionItemsBodySize,
  epochStartsBodySize,
  readRegionItemsBody,
  readEpochStartsBody,
  readUpdate,
  varintSize,
  writeRegionItemsBody,
  writeEpochStartsBody,
  writeUpdate,
} from './update-codec.ts';

type MessageOf<T extends MessageType> = Extract<Message, { t: T }>;

interface MessageCodec<T extends MessageType> {
  /** The type byte on the wire. Stable: never reuse a retired code. */
  readonly code: number;
  /** Size of the fields after the type byte. */
  size(m: MessageOf<T>): number;
  write(w: ByteWriter, m: MessageOf<T>): void;
  read(r: ByteReader): MessageOf<T>;
}

// --- shared field helpers ---------------------------------------------------

// An Update inside a message: varint length + the update-codec bytes.
function updatesSize(updates: readonly Update[]): number {
  let n = varintSize(updates.length);
  for (const u of updates) {
    const s = encodedSize(u);
    n += varintSize(s) + s;
  }
  return n;
}

function writeUpdates(w: ByteWriter, updates: readonly Update[]): void {
  w.varint(updates.length);
  for (const u of updates) {
    const len = encodedSize(u);
    w.varint(len);
    const start = w.pos;
    writeUpdate(w, u);
    assert(w.pos - start === len, 'update size mismatch');
  }
}

function readUpdates(r: ByteReader): Update[] {
  // Smallest update: length byte + format, lsn, epoch, kind, 3 counts = 8.
  const n = r.count('updates.length', 8);
  const out = new Array<Update>(n);
  for (let i = 0; i < n; i++) {
    const lenAt = r.pos;
    const len = r.varint('update.length');
    if (len > r.remaining) {
      r.pos = lenAt;
      r.fail('update.length', `update of ${len} bytes exceeds the ${r.remaining} bytes left`);
    }
    const end = r.pos + len;
    const sub = new ByteReader(r.buf, r.what, r.pos, end);
    out[i] = readUpdate(sub);
    // The update must fill exactly its length: anything else is corruption.
    sub.finish();
    r.pos = end;
  }
  return out;
}

function regionsSize(regions: readonly number[]): number {
  let n = varintSize(regions.length);
  for (const r of regions) n += varintSize(r);
  return n;
}

function writeRegions(w: ByteWriter, regions: readonly number[]): void {
  w.varint(regions.length);
  for (const r of regions) w.varint(r);
}

function readRegions(r: ByteReader): number[] {
  const n = r.count('regions.length', 1);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = r.varint('regions');
  return out;
}

// A nullable byte string: presence byte (0 null, 1 present), then the bytes.
function optionalBytesSize(b: Buffer | null): number {
  return b === null ? 1 : 1 + bytesSize(b);
}

function writeOptionalBytes(w: ByteWriter, b: Buffer | null): void {
  w.bool(b !== null);
  if (b !== null) w.bytes(b);
}

function readOptionalBytes(r: ByteReader, field: string): Buffer | null {
  return r.bool(field) ? r.bytes(field) : null;
}

// truncateAfter is an lsn or -1 ("not set"); shifted by one to stay unsigned.
function truncSize(v: number): number {
  return varintSize(v + 1);
}

// --- the table ---------------------------------------------------------------

const CODECS: { readonly [T in MessageType]: MessageCodec<T> } = {
  append: {
    code: 1,
    size: (m) =>
      varintSize(m.epoch) +
      varintSize(m.prevLsn) +
      varintSize(m.prevEpoch) +
      updatesSize(m.updates) +
      varintSize(m.commitLsn) +
      varintSize(m.clear.clearLsn) +
      truncSize(m.truncateAfter) +
      varintSize(m.round),
    write: (w, m) => {
      w.varint(m.epoch);
      w.varint(m.prevLsn);
      w.varint(m.prevEpoch);
      writeUpdates(w, m.updates);
      w.varint(m.commitLsn);
      w.varint(m.clear.clearLsn);
      w.varint(m.truncateAfter + 1);
      w.varint(m.round);
    },
    read: (r) => ({
      t: 'append',
      epoch: r.varint('epoch'),
      prevLsn: r.varint('prevLsn'),
      prevEpoch: r.varint('prevEpoch'),
      updates: readUpdates(r),
      commitLsn: r.varint('commitLsn'),
      clear: { clearLsn: r.varint('clear.clearLsn') },
      truncateAfter: r.varint('truncateAfter') - 1,
      round: r.varint('round'),
    }),
  },
  ack: {
    code: 2,
    size: (m) =>
      varintSize(m.epoch) +
      1 +
      varintSize(m.ackLsn) +
      varintSize(m.lastLsn) +
      varintSize(m.lastEpoch) +
      varintSize(m.storageDurableLsn) +
      varintSize(m.round) +
      varintSize(m.incarnation),
    write: (w, m) => {
      w.varint(m.epoch);
      w.bool(m.ok);
      w.varint(m.ackLsn);
      w.varint(m.lastLsn);
      w.varint(m.lastEpoch);
      w.varint(m.storageDurableLsn);
      w.varint(m.round);
      w.varint(m.incarnation);
    },
    read: (r) => ({
      t: 'ack',
      epoch: r.varint('epoch'),
      ok: r.bool('ok'),
      ackLsn: r.varint('ackLsn'),
      lastLsn: r.varint('lastLsn'),
      lastEpoch: r.varint('lastEpoch'),
      storageDurableLsn: r.varint('storageDurableLsn'),
      round: r.varint('round'),
      incarnation: r.varint('incarnation'),
    }),
  },
  'vote-req': {
    code: 3,
    size: (m) => varintSize(m.epoch) + varintSize(m.lastLsn) + varintSize(m.lastEpoch) + 2,
    write: (w, m) => {
      w.varint(m.epoch);
      w.varint(m.lastLsn);
      w.varint(m.lastEpoch);
      w.bool(m.transfer);
      w.bool(m.pre);
    },
    read: (r) => ({
      t: 'vote-req',
      epoch: r.varint('epoch'),
      lastLsn: r.varint('lastLsn'),
      lastEpoch: r.varint('lastEpoch'),
      transfer: r.bool('transfer'),
      pre: r.bool('pre'),
    }),
  },
  vote: {
    code: 4,
    size: (m) => varintSize(m.epoch) + 2,
    write: (w, m) => {
      w.varint(m.epoch);
      w.bool(m.granted);
      w.bool(m.pre);
    },
    read: (r) => ({ t: 'vote', epoch: r.varint('epoch'), granted: r.bool('granted'), pre: r.bool('pre') }),
  },
  'sync-req': {
    code: 5,
    size: (m) => varintSize(m.epoch),
    write: (w, m) => w.varint(m.epoch),
    read: (r) => ({ t: 'sync-req', epoch: r.varint('epoch') }),
  },
  'sync-state': {
    code: 6,
    size: (m) => varintSize(m.epoch) + varintSize(m.startLsn) + varintSize(m.lastLsn) + epochStartsBodySize(m.history) + varintSize(m.incarnation),
    write: (w, m) => {
      w.varint(m.epoch);
      w.varint(m.startLsn);
      w.varint(m.lastLsn);
      writeEpochStartsBody(w, m.history);
      w.varint(m.incarnation);
    },
    read: (r) => ({
      t: 'sync-state',
      epoch: r.varint('epoch'),
      startLsn: r.varint('startLsn'),
      lastLsn: r.varint('lastLsn'),
      history: readEpochStartsBody(r),
      incarnation: r.varint('incarnation'),
    }),
  },
  'pull-req': {
    code: 7,
    size: (m) => varintSize(m.epoch) + varintSize(m.fromLsn) + varintSize(m.toLsn),
    write: (w, m) => {
      w.varint(m.epoch);
      w.varint(m.fromLsn);
      w.varint(m.toLsn);
    },
    read: (r) => ({ t: 'pull-req', epoch: r.varint('epoch'), fromLsn: r.varint('fromLsn'), toLsn: r.varint('toLsn') }),
  },
  'pull-data': {
    code: 8,
    size: (m) => varintSize(m.epoch) + updatesSize(m.updates) + 1,
    write: (w, m) => {
      w.varint(m.epoch);
      writeUpdates(w, m.updates);
      w.bool(m.done);
    },
    read: (r) => ({ t: 'pull-data', epoch: r.varint('epoch'), updates: readUpdates(r), done: r.bool('done') }),
  },
  'region-req': {
    code: 9,
    size: (m) => varintSize(m.epoch) + regionsSize(m.regions) + varintSize(m.atLsn) + varintSize(m.seq),
    write: (w, m) => {
      w.varint(m.epoch);
      writeRegions(w, m.regions);
      w.varint(m.atLsn);
      w.varint(m.seq);
    },
    read: (r) => ({ t: 'region-req', epoch: r.varint('epoch'), regions: readRegions(r), atLsn: r.varint('atLsn'), seq: r.varint('seq') }),
  },
  'resync-start': {
    code: 12,
    size: (m) => varintSize(m.epoch) + regionsSize(m.regions) + varintSize(m.afterLsn) + varintSize(m.afterEpoch),
    write: (w, m) => {
      w.varint(m.epoch);
      writeRegions(w, m.regions);
      w.varint(m.afterLsn);
      w.varint(m.afterEpoch);
    },
    read: (r) => ({
      t: 'resync-start',
      epoch: r.varint('epoch'),
      regions: readRegions(r),
      afterLsn: r.varint('afterLsn'),
      afterEpoch: r.varint('afterEpoch'),
    }),
  },
  'region-data': {
    code: 10,
    size: (m) =>
      varintSize(m.epoch) +
      varintSize(m.region) +
      varintSize(m.asOfLsn) +
      varintSize(m.seq) +
      optionalBytesSize(m.afterKey) +
      optionalBytesSize(m.afterElem) +
      2 +
      regionItemsBodySize(m.items),
    write: (w, m) => {
      w.varint(m.epoch);
      w.varint(m.region);
      w.varint(m.asOfLsn);
      w.varint(m.seq);
      writeOptionalBytes(w, m.afterKey);
      writeOptionalBytes(w, m.afterElem);
      w.bool(m.first);
      w.bool(m.last);
      writeRegionItemsBody(w, m.items);
    },
    read: (r) => ({
      t: 'region-data',
      epoch: r.varint('epoch'),
      region: r.varint('region'),
      asOfLsn: r.varint('asOfLsn'),
      seq: r.varint('seq'),
      afterKey: readOptionalBytes(r, 'afterKey'),
      afterElem: readOptionalBytes(r, 'afterElem'),
      first: r.bool('first'),
      last: r.bool('last'),
      items: readRegionItemsBody(r),
    }),
  },
  'timeout-now': {
    code: 11,
    size: (m) => varintSize(m.epoch),
    write: (w, m) => w.varint(m.epoch),
    read: (r) => ({ t: 'timeout-now', epoch: r.varint('epoch') }),
  },
  'catch-up': {
    code: 13,
    size: (m) => varintSize(m.epoch) + varintSize(m.prevLsn) + varintSize(m.prevEpoch) + updatesSize(m.updates),
    write: (w, m) => {
      w.varint(m.epoch);
      w.varint(m.prevLsn);
      w.varint(m.prevEpoch);
      writeUpdates(w, m.updates);
    },
    read: (r) => ({ t: 'catch-up', epoch: r.varint('epoch'), prevLsn: r.varint('prevLsn'), prevEpoch: r.varint('prevEpoch'), updates: readUpdates(r) }),
  },
  'recover-req': {
    code: 14,
    size: (m) => varintSize(m.epoch),
    write: (w, m) => w.varint(m.epoch),
    read: (r) => ({ t: 'recover-req', epoch: r.varint('epoch') }),
  },
  'recover-state': {
    code: 15,
    size: (m) => varintSize(m.epoch) + varintSize(m.lastLsn) + varintSize(m.lastEpoch),
    write: (w, m) => {
      w.varint(m.epoch);
      w.varint(m.lastLsn);
      w.varint(m.lastEpoch);
    },
    read: (r) => ({ t: 'recover-state', epoch: r.varint('epoch'), lastLsn: r.varint('lastLsn'), lastEpoch: r.varint('lastEpoch') }),
  },
  publish: {
    code: 16,
    size: (m) => varintSize(m.epoch) + 1 + bytesSize(m.channel) + bytesSize(m.message),
    write: (w, m) => {
      w.varint(m.epoch);
      w.bool(m.shard);
      w.bytes(m.channel);
      w.bytes(m.message);
    },
    read: (r) => ({ t: 'publish', epoch: r.varint('epoch'), shard: r.bool('shard'), channel: r.bytes('channel'), message: r.bytes('message') }),
  },
};

/** Type byte → codec, built once from the table (and checked for duplicate codes). */
const BY_CODE: ReadonlyArray<MessageCodec<MessageType> | undefined> = (() => {
  const out: Array<MessageCodec<MessageType> | undefined> = [];
  for (const c of Object.values(CODECS) as Array<MessageCodec<MessageType>>) {
    if (out[c.code] !== undefined) throw new Error(`duplicate message type code ${c.code}`);
    out[c.code] = c;
  }
  return out;
})();

/** The wire type byte of a message kind (stable across versions). */
export function messageTypeCode(t: MessageType): number {
  return CODECS[t].code;
}

function codecOf<T extends MessageType>(m: MessageOf<T>): MessageCodec<T> {
  return CODECS[m.t as T];
}

/** Exact size in bytes of encodeMessage(msg). */
export function messageSize(msg: Message): number {
  return 1 + codecOf(msg).size(msg);
}

/** Writes msg (type byte included) at w.pos; w must have messageSize(msg) bytes room. */
export function writeMessage(w: ByteWriter, msg: Message): void {
  const c = codecOf(msg);
  w.u8(c.code);
  c.write(w, msg);
}

/** The binary form of a peer message (a frame payload). */
export function encodeMessage(msg: Message): Buffer {
  const w = new ByteWriter(Buffer.allocUnsafe(messageSize(msg)));
  writeMessage(w, msg);
  return w.done();
}

/**
 * Strict inverse of encodeMessage: the whole buffer must be exactly one message.
 * Unknown type byte → FRAME_UNKNOWN_TYPE; anything else malformed → FRAME_CORRUPT.
 */
export function decodeMessage(buf: Uint8Array): Message {
  if (buf.length === 0) throw new UnderstudyError('FRAME_CORRUPT', 'message: empty payload (no type byte)');
  const code = buf[0]!;
  const c = BY_CODE[code];
  if (c === undefined) {
    throw new UnderstudyError(
      'FRAME_UNKNOWN_TYPE',
      `message: unknown type byte ${code} (this build knows ${BY_CODE.flatMap((x, i) => (x ? [i] : [])).join(', ')}); is the peer running a newer version?`,
      { code },
    );
  }
  const r = new ByteReader(buf, 'message', 1);
  const msg = c.read(r);
  r.finish();
  return msg;
}
