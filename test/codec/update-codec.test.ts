// The Update / Entry / EpochStart binary layouts: exact round trips and strict
// rejection of anything malformed (FRAME_CORRUPT, never a RangeError or a
// silently different value).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  UPDATE_FORMAT_VERSION,
  UPDATE_FORMAT_WITH_EVENTS,
  decodeRegionItems,
  decodeEpochStarts,
  decodeUpdate,
  encodeRegionItems,
  encodeEpochStarts,
  encodeUpdate,
  encodedSize,
} from '../../src/codec/update-codec.ts';
import { isUnderstudyError } from '../../src/errors.ts';
import type { Op, Update } from '../../src/core/types.ts';
import { MAX_EXPIRE_AT_MS, MAX_KEY_BYTES } from '../../src/core/kv/arguments.ts';
import { DEFAULT_LIMITS } from '../../src/core/config.ts';
import { opsBytes } from '../../src/core/log-view.ts';
import { REGION_COUNT } from '../../src/core/regions.ts';
import { MAX_RECORD_BYTES } from '../../src/log/log-limits.ts';
import { regionItem, epochStart, update } from './arbitraries.ts';

function throwsCorrupt(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isUnderstudyError(e, 'FRAME_CORRUPT'), `expected FRAME_CORRUPT, got ${String(e)}`);
    return e.message;
  }
  assert.fail('expected FRAME_CORRUPT, nothing was thrown');
}

test('an Update round-trips exactly, and encodedSize is the encoded length', () => {
  fc.assert(
    fc.property(update(), (u) => {
      const buf = encodeUpdate(u);
      assert.equal(buf.length, encodedSize(u));
      // Format 1 unless it carries keyspace notifications: records without them never changed.
      assert.equal(buf[0], u.keyEvents ? UPDATE_FORMAT_WITH_EVENTS : UPDATE_FORMAT_VERSION);
      assert.deepStrictEqual(decodeUpdate(buf), u);
    }),
    { numRuns: 300 },
  );
});

test('a small Update is compact (varints, raw bytes)', () => {
  const u: Update = {
    lsn: 5,
    epoch: 1,
    dest: ['n2', 'n3'],
    kind: 'data',
    ops: [{ k: 'put', key: Buffer.from('k'), value: Buffer.from('v'), expireAtMs: 0 }],
    regions: [7],
  };
  // format, lsn, epoch, kind, dest(1 + 2*3), regions(1+1), ops(1 + tag + 2 + 2 + 1)
  assert.equal(encodeUpdate(u).length, 4 + 7 + 2 + 7);
});

test('decoded keys and values are copies, not views of the input buffer', () => {
  const u: Update = { lsn: 1, epoch: 1, dest: [], kind: 'data', ops: [{ k: 'del', key: Buffer.from('abc') }], regions: [] };
  const buf = encodeUpdate(u);
  const d = decodeUpdate(buf);
  buf.fill(0);
  assert.deepStrictEqual(d, u);
});

test('every truncation of an Update is FRAME_CORRUPT, and so is a trailing byte', () => {
  fc.assert(
    fc.property(update(), fc.nat(), (u, cut) => {
      const buf = encodeUpdate(u);
      const at = cut % buf.length;
      const msg = throwsCorrupt(() => decodeUpdate(buf.subarray(0, at)));
      assert.match(msg, /^update: /);
      throwsCorrupt(() => decodeUpdate(Buffer.concat([buf, Buffer.from([0])])));
    }),
    { numRuns: 200 },
  );
});

test('garbage either is rejected as FRAME_CORRUPT or decodes to an Update that re-encodes to the same bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (raw) => {
      // Make the format byte right half the time so the decoder goes deeper.
      const buf = Buffer.from(raw);
      if (buf.length > 0 && buf[0]! % 2 === 0) buf[0] = UPDATE_FORMAT_VERSION;
      let u: Update;
      try {
        u = decodeUpdate(buf);
      } catch (e) {
        assert.ok(isUnderstudyError(e, 'FRAME_CORRUPT'), `unexpected ${String(e)}`);
        return;
      }
      // The encoding is canonical: anything accepted is exactly what we would write.
      assert.deepStrictEqual(encodeUpdate(u), buf);
    }),
    { numRuns: 2000 },
  );
});

test('precise messages for specific malformations', () => {
  const good = encodeUpdate({ lsn: 1, epoch: 2, dest: ['n1'], kind: 'config', ops: [{ k: 'flush' }], regions: [] });
  const wrongFormat = Buffer.from(good);
  wrongFormat[0] = 9;
  assert.match(throwsCorrupt(() => decodeUpdate(wrongFormat)), /unsupported update format 9 .*reads formats 1 and 2.*'format' at offset 0/);
  const badKind = Buffer.from(good);
  badKind[3] = 7;
  assert.match(throwsCorrupt(() => decodeUpdate(badKind)), /unknown update kind 7 in 'kind' at offset 3/);
  // Overlong varint (lsn 1 written as 0x81 0x00).
  const overlong = Buffer.concat([Buffer.from([1, 0x81, 0x00]), good.subarray(2)]);
  assert.match(throwsCorrupt(() => decodeUpdate(overlong)), /non-minimal varint in 'lsn'/);
  // A varint above 2^53 - 1.
  const huge = Buffer.concat([Buffer.from([1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), good.subarray(2)]);
  assert.match(throwsCorrupt(() => decodeUpdate(huge)), /exceeds the largest safe integer in 'lsn'/);
  // A huge dest count must not allocate: it cannot fit in what is left.
  const bigCount = Buffer.from([1, 1, 1, 0, 0xff, 0xff, 0xff, 0x7f]);
  assert.match(throwsCorrupt(() => decodeUpdate(bigCount)), /count \d+ cannot fit/);
  // Invalid UTF-8 in a node id.
  const badId = Buffer.from([1, 1, 1, 0, 1, 2, 0xc3, 0x28, 0, 0]);
  assert.match(throwsCorrupt(() => decodeUpdate(badId)), /not valid UTF-8 in 'dest'/);
  // Unknown op tag.
  const badOp = Buffer.from([1, 1, 1, 0, 0, 0, 1, 9]);
  assert.match(throwsCorrupt(() => decodeUpdate(badOp)), /unknown op tag 9/);
  throwsCorrupt(() => decodeUpdate(Buffer.alloc(0)));
});

test('Region item lists and EpochStart lists round-trip and reject truncation', () => {
  fc.assert(
    fc.property(fc.array(regionItem(), { maxLength: 8 }), fc.array(epochStart(), { maxLength: 8 }), fc.nat(), (items, starts, cut) => {
      const eb = encodeRegionItems(items);
      assert.deepStrictEqual(decodeRegionItems(eb), items);
      const sb = encodeEpochStarts(starts);
      assert.deepStrictEqual(decodeEpochStarts(sb), starts);
      throwsCorrupt(() => decodeRegionItems(eb.subarray(0, cut % eb.length)));
      throwsCorrupt(() => decodeEpochStarts(sb.subarray(0, cut % sb.length)));
    }),
    { numRuns: 200 },
  );
});

test('encoding refuses values the layout cannot represent (a bug in the caller, not a wire error)', () => {
  const base: Update = { lsn: 1, epoch: 1, dest: [], kind: 'data', ops: [], regions: [] };
  assert.throws(() => encodeUpdate({ ...base, lsn: -1 }), /non-negative safe integer/);
  assert.throws(() => encodeUpdate({ ...base, lsn: 1.5 }), /non-negative safe integer/);
  assert.throws(() => encodeUpdate({ ...base, dest: [''] }), /node id/);
  assert.throws(() => encodeUpdate({ ...base, dest: ['x'.repeat(256)] }), /node id/);
  assert.throws(() => encodeUpdate({ ...base, dest: ['\uD800'] }), /node id/);
});

test('whatever the executor can put in an update encodes, within one log record', () => {
  // The executor's bounds (src/core/kv/arguments.ts, the core's limits): expiry up to
  // MAX_EXPIRE_AT_MS, keys up to MAX_KEY_BYTES, one write up to maxWriteBytes of opsBytes.
  const key = Buffer.alloc(MAX_KEY_BYTES, 0x6b);
  const valueBytes = DEFAULT_LIMITS.maxWriteBytes - MAX_KEY_BYTES - 16;
  const ops: Op[] = [{ k: 'put', key, value: Buffer.alloc(valueBytes, 0x76), expireAtMs: MAX_EXPIRE_AT_MS }];
  assert.equal(opsBytes(ops), DEFAULT_LIMITS.maxWriteBytes);
  const dest = Array.from({ length: 64 }, (_, i) => `n${i}`.padEnd(255, 'x'));
  const u: Update = { lsn: Number.MAX_SAFE_INTEGER, epoch: Number.MAX_SAFE_INTEGER, dest, kind: 'data', regions: Array.from({ length: REGION_COUNT }, (_, i) => i), ops };
  const bytes = encodeUpdate(u);
  assert.ok(bytes.length <= MAX_RECORD_BYTES, `an update of maxWriteBytes encodes to ${bytes.length} bytes, above MAX_RECORD_BYTES ${MAX_RECORD_BYTES}`);
  const back = decodeUpdate(bytes);
  assert.equal(back.ops.length, 1);
  const put = back.ops[0]!;
  assert.ok(put.k === 'put' && put.expireAtMs === MAX_EXPIRE_AT_MS && put.key.equals(key) && put.value.length === valueBytes);
});

test('opsBytes never counts less than the codec spends on ops', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(
      fc.record({ k: fc.constant('put' as const), key: fc.uint8Array({ maxLength: MAX_KEY_BYTES }).map(Buffer.from), value: fc.uint8Array({ maxLength: 300 }).map(Buffer.from), expireAtMs: fc.constantFrom(0, 1, 2 ** 31, MAX_EXPIRE_AT_MS) }),
      fc.record({ k: fc.constant('del' as const), key: fc.uint8Array({ maxLength: MAX_KEY_BYTES }).map(Buffer.from) }),
      fc.constant({ k: 'flush' as const }),
    ), { maxLength: 20 }), (ops: Op[]) => {
      const empty: Update = { lsn: 1, epoch: 1, dest: [], kind: 'data', regions: [], ops: [] };
      const header = encodedSize(empty);
      assert.ok(encodedSize({ ...empty, ops }) - header <= opsBytes(ops) + 4, 'ops encode to more than opsBytes counts');
    }),
    { numRuns: 200 },
  );
});
