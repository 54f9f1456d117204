// Length + CRC32C framing: payloads survive any split of the byte stream, and
// every corruption (truncation, flipped byte, oversized length, garbage) is
// detected and poisons the decoder rather than yielding a wrong payload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FRAME_HEADER_BYTES, FrameDecoder, MAX_FRAME_BYTES, encodeFrame, encodeFrames } from '../../src/codec/frame.ts';
import { decodeMessage, encodeMessage } from '../../src/codec/message-codec.ts';
import { isUnderstudyError } from '../../src/errors.ts';
import { bytes, message } from './arbitraries.ts';

/** Cuts buf at the given (sorted, deduplicated) points. */
function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

test('MAX_FRAME_BYTES is 64 MiB', () => {
  assert.equal(MAX_FRAME_BYTES, 64 * 1024 * 1024);
});

test('payloads come back in order across arbitrary chunk splits', () => {
  fc.assert(
    fc.property(fc.array(bytes(), { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 40 }), fc.boolean(), (payloads, cuts, batched) => {
      const stream = batched ? encodeFrames(payloads) : Buffer.concat(payloads.map((p) => encodeFrame(p)));
      const d = new FrameDecoder();
      const got: Buffer[] = [];
      for (const chunk of split(stream, cuts)) got.push(...d.feed(chunk));
      assert.deepStrictEqual(got.map((b) => Buffer.from(b)), payloads);
      assert.equal(d.bufferedBytes, 0);
    }),
    { numRuns: 300 },
  );
});

test('messages survive framing with one-byte chunks', () => {
  fc.assert(
    fc.property(fc.array(message(), { minLength: 1, maxLength: 3 }), (msgs) => {
      const small = msgs.filter((m) => encodeMessage(m).length < 4096);
      const stream = encodeFrames(small.map(encodeMessage));
      const d = new FrameDecoder();
      const got = [];
      for (let i = 0; i < stream.length; i++) got.push(...d.feed(stream.subarray(i, i + 1)).map(decodeMessage));
      assert.deepStrictEqual(got, small);
    }),
    { numRuns: 50 },
  );
});

test('a truncated frame yields nothing (waits for the rest), never a partial payload', () => {
  fc.assert(
    fc.property(bytes(), fc.nat(), (p, cut) => {
      const f = encodeFrame(p);
      const at = cut % f.length;
      const d = new FrameDecoder();
      assert.deepStrictEqual(d.feed(f.subarray(0, at)), []);
      assert.equal(d.bufferedBytes, at);
      const rest = d.feed(f.subarray(at));
      assert.deepStrictEqual(rest.map((b) => Buffer.from(b)), [p]);
    }),
    { numRuns: 200 },
  );
});

test('a flipped byte in the checksum or payload is FRAME_CORRUPT and poisons the decoder', () => {
  fc.assert(
    fc.property(bytes(), fc.nat(), fc.integer({ min: 1, max: 255 }), (p, pos, xor) => {
      const f = Buffer.from(encodeFrame(p));
      const at = 4 + (pos % (f.length - 4));
      f[at] = f[at]! ^ xor;
      const d = new FrameDecoder();
      assert.throws(() => d.feed(f), (e) => isUnderstudyError(e, 'FRAME_CORRUPT') && /checksum mismatch/.test(e.message));
      // Poisoned: a stream that lost its framing cannot continue.
      assert.throws(() => d.feed(encodeFrame(Buffer.from('ok'))), (e) => isUnderstudyError(e, 'FRAME_CORRUPT'));
    }),
    { numRuns: 300 },
  );
});

test('a flipped byte in the length never yields a payload: checksum error, limit error, or waiting for more', () => {
  fc.assert(
    fc.property(bytes(), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 255 }), (p, at, xor) => {
      const f = Buffer.from(encodeFrame(p));
      f[at] = f[at]! ^ xor;
      const d = new FrameDecoder();
      try {
        assert.deepStrictEqual(d.feed(f), []);
      } catch (e) {
        assert.ok(isUnderstudyError(e, 'FRAME_CORRUPT') || isUnderstudyError(e, 'FRAME_TOO_LARGE'), String(e));
      }
    }),
    { numRuns: 300 },
  );
});

test('an oversized length is refused from the header alone, and the error names the limit to raise', () => {
  const d = new FrameDecoder(1024);
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt32LE(1025, 0);
  assert.throws(
    () => d.feed(header),
    (e) => isUnderstudyError(e, 'FRAME_TOO_LARGE') && /1025 bytes/.test(e.message) && /maxFrameBytes/.test(e.message),
  );
  const big = new FrameDecoder();
  const huge = Buffer.alloc(FRAME_HEADER_BYTES);
  huge.writeUInt32LE(0xffff_ffff, 0);
  assert.throws(() => big.feed(huge), (e) => isUnderstudyError(e, 'FRAME_TOO_LARGE') && /MAX_FRAME_BYTES/.test(e.message));
  // The sender refuses too, before anything reaches a socket.
  assert.throws(() => encodeFrame(Buffer.alloc(11), 10), (e) => isUnderstudyError(e, 'FRAME_TOO_LARGE'));
  assert.throws(() => encodeFrames([Buffer.alloc(1), Buffer.alloc(11)], 10), (e) => isUnderstudyError(e, 'FRAME_TOO_LARGE'));
  // Exactly at the limit is fine.
  assert.deepStrictEqual(new FrameDecoder(10).feed(encodeFrame(Buffer.alloc(10), 10)), [Buffer.alloc(10)]);
});

test('garbage is rejected (or, rarely, waits for more) and never yields a payload', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 8, maxLength: 200 }), (raw) => {
      const d = new FrameDecoder(1 << 20);
      try {
        assert.deepStrictEqual(d.feed(Buffer.from(raw)), []);
      } catch (e) {
        assert.ok(isUnderstudyError(e, 'FRAME_CORRUPT') || isUnderstudyError(e, 'FRAME_TOO_LARGE'), String(e));
      }
    }),
    { numRuns: 1000 },
  );
});

test('the limit can be raised between frames (small frames until authenticated)', () => {
  const d = new FrameDecoder(8);
  const stream = encodeFrames([Buffer.from('hello'), Buffer.alloc(100, 7)]);
  d.push(stream);
  assert.deepStrictEqual(d.next(), Buffer.from('hello'));
  d.maxFrameBytes = 1000;
  assert.deepStrictEqual(d.next(), Buffer.alloc(100, 7));
  assert.equal(d.next(), undefined);
});
