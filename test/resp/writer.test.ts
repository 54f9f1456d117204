import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeReplies, encodeReply } from '../../src/resp/writer.ts';
import type { RespVersion } from '../../src/resp/writer.ts';
import { arr, bulk, err, int, NIL, OK } from '../../src/core/reply.ts';
import type { Reply } from '../../src/core/reply.ts';
import { formatDouble } from '../../src/core/kv/float-format.ts';
import { replyEnd } from '../kv/redis-server.ts';

function enc(r: Reply, v: RespVersion = 2): string {
  return encodeReply(r, v).toString('latin1');
}

describe('writer: RESP2', () => {
  test('scalars', () => {
    assert.equal(enc(OK), '+OK\r\n');
    assert.equal(enc(err('ERR syntax error')), '-ERR syntax error\r\n');
    assert.equal(enc(int(42)), ':42\r\n');
    assert.equal(enc(int(-9223372036854775808n)), ':-9223372036854775808\r\n');
    assert.equal(enc(bulk('hello')), '$5\r\nhello\r\n');
    assert.equal(enc(bulk('')), '$0\r\n\r\n');
    assert.equal(enc(NIL), '$-1\r\n');
    assert.equal(enc(arr(null)), '*-1\r\n');
    assert.equal(enc(arr([])), '*0\r\n');
  });
  test('RESP3-only types map to RESP2 as Redis does', () => {
    assert.equal(enc({ t: 'null' }), '$-1\r\n');
    assert.equal(enc({ t: 'double', d: 1.5 }), '$3\r\n1.5\r\n');
    assert.equal(enc({ t: 'double', d: Infinity }), '$3\r\ninf\r\n');
    assert.equal(enc({ t: 'double', d: -Infinity }), '$4\r\n-inf\r\n');
    assert.equal(enc({ t: 'map', entries: [[bulk('a'), int(1)], [bulk('b'), NIL]] }), '*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n$-1\r\n');
    assert.equal(enc({ t: 'set', items: [bulk('x')] }), '*1\r\n$1\r\nx\r\n');
    assert.equal(enc({ t: 'verbatim', format: 'txt', s: 'héllo' }), '$6\r\nh\xc3\xa9llo\r\n');
  });
  test('CR and LF cannot break a simple string or an error line', () => {
    assert.equal(enc(err('ERR a\r\nb')), '-ERR a  b\r\n');
    assert.equal(enc({ t: 'simple', s: 'x\ny' }), '+x y\r\n');
  });
  test('nested arrays and binary bulk', () => {
    const b = Buffer.from([0, 13, 10, 255]);
    assert.equal(enc(arr([bulk('0'), arr([bulk(b), NIL, int(1)])])), '*2\r\n$1\r\n0\r\n*3\r\n$4\r\n\x00\r\n\xff\r\n$-1\r\n:1\r\n');
  });
});

describe('writer: RESP3', () => {
  test('types', () => {
    assert.equal(enc(NIL, 3), '_\r\n');
    assert.equal(enc(arr(null), 3), '_\r\n');
    assert.equal(enc({ t: 'null' }, 3), '_\r\n');
    assert.equal(enc({ t: 'double', d: 3.25 }, 3), ',3.25\r\n');
    assert.equal(enc({ t: 'double', d: -Infinity }, 3), ',-inf\r\n');
    assert.equal(enc({ t: 'map', entries: [[bulk('a'), int(1)]] }, 3), '%1\r\n$1\r\na\r\n:1\r\n');
    assert.equal(enc({ t: 'set', items: [bulk('x'), bulk('y')] }, 3), '~2\r\n$1\r\nx\r\n$1\r\ny\r\n');
    assert.equal(enc({ t: 'verbatim', format: 'txt', s: 'Some string' }, 3), '=15\r\ntxt:Some string\r\n');
    assert.equal(enc(OK, 3), '+OK\r\n');
  });
});

describe('writer: doubles print like printf("%.17g") (Redis 7.0)', () => {
  const cases: Array<[number, string]> = [
    [0, '0'],
    [-0, '-0'],
    [1, '1'],
    [0.1, '0.10000000000000001'],
    [1.5, '1.5'],
    [100, '100'],
    [1e16, '10000000000000000'],
    [1e17, '1e+17'],
    [1.5e300, '1.5000000000000001e+300'],
    [0.0001, '0.0001'],
    [0.00001, '1.0000000000000001e-05'],
    [123456789.123, '123456789.123'],
    [5e-324, '4.9406564584124654e-324'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    // An exact tie at the 17th digit: glibc rounds half to even, Number#toPrecision would not.
    [1234567890.00390625, '1234567890.0039062'],
  ];
  for (const [d, s] of cases) test(`${d} → ${s}`, () => assert.equal(formatDouble(d), s));
  test('round-trips: parsing the text gives the same double', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
        assert.equal(Number(formatDouble(d)), d);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('writer: a pipeline of replies is one buffer equal to the concatenation', () => {
  const leaf: fc.Arbitrary<Reply> = fc.oneof(
    fc.string().map((s) => ({ t: 'simple', s: s.replace(/[\r\n]/g, '') }) as Reply),
    fc.string().map((s) => err('ERR ' + s.replace(/[\r\n]/g, ''))),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => int(n)),
    fc.integer().map((n) => int(n)),
    fc.uint8Array({ maxLength: 30 }).map((u) => bulk(Buffer.from(u))),
    fc.constant(NIL),
    fc.double().map((d) => ({ t: 'double', d }) as Reply),
    fc.constant({ t: 'null' } as Reply),
  );
  const reply: fc.Arbitrary<Reply> = fc.letrec<{ r: Reply }>((tie) => ({
    r: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('r'), { maxLength: 4 }).map((items) => arr(items)),
      fc.array(tie('r'), { maxLength: 3 }).map((items) => ({ t: 'set', items }) as Reply),
      fc.array(fc.tuple(tie('r'), tie('r')), { maxLength: 3 }).map((entries) => ({ t: 'map', entries }) as Reply),
    ),
  })).r;
  test('encodeReplies(list) = concat(encodeReply(each))', () => {
    fc.assert(
      fc.property(fc.array(reply, { maxLength: 10 }), fc.constantFrom(2 as const, 3 as const), (list, v) => {
        const whole = encodeReplies(list, v);
        const parts = Buffer.concat(list.map((r) => encodeReply(r, v)));
        assert.ok(whole.equals(parts));
        // The bytes are well-formed RESP: exactly one complete reply per item, nothing left over.
        let pos = 0;
        for (let i = 0; i < list.length; i++) {
          pos = replyEnd(whole, pos);
          assert.ok(pos > 0);
        }
        assert.equal(pos, whole.length);
      }),
      { numRuns: 300 },
    );
  });
});
