// Differential tests of the bitmap commands (SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD
// BITFIELD_RO): fixed scripts with their edge cases, then random command sequences, each run on
// redis-server and on our parser → executor → writer; replies must match byte for byte and the
// values left behind (GET) must be equal.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bytesArgs, OursView, runScript } from './string-diff.ts';
import { useRedisServer } from './redis-server.ts';

/** The redis-server of this file, started before its tests. */
const redis = useRedisServer();

const BIG = '9223372036854775807';
const PAST = '9223372036854775808';

const CASES: ReadonlyArray<{ name: string; cmds: string[][] }> = [
  {
    name: 'SETBIT and GETBIT: growth, returns, errors, wrong type',
    cmds: [
      ['setbit', 'b', '7', '1'], ['get', 'b'], ['setbit', 'b', '7', '1'], ['setbit', 'b', '7', '0'], ['get', 'b'],
      ['setbit', 'b', '100', '1'], ['strlen', 'b'], ['get', 'b'], ['getbit', 'b', '100'], ['getbit', 'b', '101'],
      ['getbit', 'b', '100000'], ['getbit', 'nokey', '0'], ['setbit', 'b', '0', '2'], ['setbit', 'b', '0', '-1'],
      ['setbit', 'b', '-1', '1'], ['setbit', 'b', 'x', '1'], ['setbit', 'b', '4294967296', '1'], ['setbit', 'b', BIG, '1'],
      ['getbit', 'b', '-1'], ['getbit', 'b', '4294967296'], ['setbit', 'b', '0', 'x'], ['set', 's', 'abc'],
      ['setbit', 's', '1', '0'], ['get', 's'], ['getbit', 's', '2'], ['set', 'n', '12345'], ['setbit', 'n', '60', '1'],
      ['get', 'n'], ['hset', 'h', 'f', 'v'], ['setbit', 'h', '0', '1'], ['getbit', 'h', '0'], ['getbit', 'h', 'x'],
      ['setbit', 'h', 'x', '1'], ['setbit', 'h', '0', '3'], ['setbit', 'b'], ['getbit', 'b'], ['setbit', 'e', '0', '0'], ['get', 'e'],
      ['set', 'x', 'v', 'ex', '100'], ['setbit', 'x', '3', '1'], ['ttl', 'x'],
    ],
  },
  {
    name: 'BITCOUNT with BYTE and BIT ranges',
    cmds: [
      ['set', 'k', 'foobar'], ['bitcount', 'k'], ['bitcount', 'k', '0', '0'], ['bitcount', 'k', '1', '1'],
      ['bitcount', 'k', '1', '1', 'byte'], ['bitcount', 'k', '5', '30', 'bit'], ['bitcount', 'k', '-3', '-1'],
      ['bitcount', 'k', '-3', '-1', 'bit'], ['bitcount', 'k', '-1', '-3'], ['bitcount', 'k', '-1', '-3', 'foo'],
      ['bitcount', 'k', '3', '1'], ['bitcount', 'k', '0', '100'], ['bitcount', 'k', '-100', '-50'], ['bitcount', 'k', '0', BIG],
      ['bitcount', 'k', '0', PAST], ['bitcount', 'k', 'a', '1'], ['bitcount', 'k', '0', 'b'], ['bitcount', 'k', '0'],
      ['bitcount', 'k', '0', '1', 'BIT'], ['bitcount', 'k', '0', '1', 'Byte'], ['bitcount', 'k', '0', '1', 'nib'],
      ['bitcount', 'k', '0', '1', 'bit', 'x'], ['bitcount', 'nokey'], ['bitcount', 'nokey', '0'], ['bitcount', 'nokey', 'x', 'y'],
      ['bitcount', 'k', '7', '7', 'bit'], ['bitcount', 'k', '9', '14', 'bit'], ['bitcount', 'k', '0', '-1', 'bit'],
      ['bitcount', 'k', '47', '47', 'bit'], ['bitcount', 'k', '48', '60', 'bit'], ['lpush', 'l', 'a'], ['bitcount', 'l'],
      ['bitcount', 'l', 'x', 'y'], ['set', 'e', ''], ['bitcount', 'e'], ['bitcount', 'e', '0', '-1'], ['bitcount', 'e', '0', '-1', 'bit'],
      ['bitcount'],
    ],
  },
  {
    name: 'BITPOS with BYTE and BIT ranges, with and without an end',
    cmds: [
      ['set', 'k', '\xff\xf0\x00'], ['bitpos', 'k', '0'], ['bitpos', 'k', '1'], ['bitpos', 'k', '1', '2'],
      ['bitpos', 'k', '0', '0', '0'], ['bitpos', 'k', '0', '0'], ['bitpos', 'k', '1', '1', '-1'], ['bitpos', 'k', '0', '2', '-1', 'bit'],
      ['bitpos', 'k', '1', '7', '15', 'bit'], ['bitpos', 'k', '0', '7', '15', 'bit'], ['bitpos', 'k', '0', '0', '7', 'bit'],
      ['bitpos', 'k', '0', '0', '11', 'bit'], ['bitpos', 'k', '0', '12', 'bit'], ['bitpos', 'k', '1', '12', '-1', 'bit'],
      ['set', 'f', '\xff\xff\xff'], ['bitpos', 'f', '0'], ['bitpos', 'f', '0', '0'], ['bitpos', 'f', '0', '0', '-1'],
      ['bitpos', 'f', '0', '1', '-1', 'byte'], ['bitpos', 'f', '0', '3', '-1', 'bit'], ['bitpos', 'f', '0', '3', '5', 'bit'],
      ['bitpos', 'f', '1', '3', '5', 'bit'], ['bitpos', 'f', '0', '-5', '-1', 'bit'], ['bitpos', 'f', '0', '5', '2', 'bit'],
      ['bitpos', 'f', '1', '100'], ['bitpos', 'f', '0', '100'], ['bitpos', 'f', '0', '-100'], ['bitpos', 'f', '0', '0', BIG],
      ['bitpos', 'f', '0', '0', '0', 'bit'], ['bitpos', 'f', '0', '23', 'bit'], ['bitpos', 'f', '0', '20', '23', 'bit'],
      ['set', 'z', '\x00\x00\x00'], ['bitpos', 'z', '1'], ['bitpos', 'z', '1', '1', '1'], ['bitpos', 'z', '1', '3', '20', 'bit'],
      ['bitpos', 'z', '0', '3', '20', 'bit'], ['bitpos', 'nokey', '0'], ['bitpos', 'nokey', '1'], ['bitpos', 'nokey', '1', 'x'],
      ['bitpos', 'k', '2'], ['bitpos', 'k', 'x'], ['bitpos', 'k', '-1'], ['bitpos', 'k', '1', 'x'], ['bitpos', 'k', '1', '0', 'x'],
      ['bitpos', 'k', '1', '0', '1', 'nib'], ['bitpos', 'k', '1', '0', '1', 'bit', 'x'], ['sadd', 's', 'a'], ['bitpos', 's', '1'],
      ['bitpos', 's', '2'], ['set', 'e', ''], ['bitpos', 'e', '0'], ['bitpos', 'e', '1'], ['bitpos', 'e', '0', '0'], ['bitpos', 'e', '0', '0', '-1', 'bit'],
      ['bitpos', 'k'],
    ],
  },
  {
    name: 'BITOP AND OR XOR NOT: lengths, missing keys, deleting the destination, errors',
    cmds: [
      ['set', 'a', 'foobar'], ['set', 'b', 'abcdef0123'], ['set', 'c', '\x01'], ['bitop', 'and', 'd', 'a', 'b'], ['get', 'd'],
      ['bitop', 'or', 'd', 'a', 'b', 'c'], ['get', 'd'], ['bitop', 'xor', 'd', 'a', 'b', 'nokey'], ['get', 'd'],
      ['bitop', 'not', 'd', 'a'], ['get', 'd'], ['bitop', 'and', 'd', 'a', 'nokey'], ['get', 'd'], ['bitop', 'NOT', 'd', 'a', 'b'],
      ['bitop', 'nand', 'd', 'a'], ['bitop', 'or', 'd', 'nokey', 'nokey2'], ['exists', 'd'], ['set', 'd', 'x', 'ex', '100'],
      ['bitop', 'or', 'd', 'a'], ['ttl', 'd'], ['hset', 'h', 'f', 'v'], ['bitop', 'or', 'h', 'nokey'], ['exists', 'h'],
      ['bitop', 'or', 'd', 'a', 'h'], ['bitop', 'or', 'h', 'a'], ['type', 'h'], ['bitop', 'and', 'self', 'self'], ['set', 'e', ''],
      ['bitop', 'xor', 'd', 'e'], ['exists', 'd'], ['bitop', 'or', 'd'], ['bitop', 'not', 'd'],
      ['set', 'long', 'abcdefghijklmnopqrstuvwxyz0123456789abcdefghijkl'], ['bitop', 'and', 'd', 'long', 'long', 'a'], ['get', 'd'],
      ['bitop', 'not', 'd', 'long'], ['get', 'd'],
    ],
  },
  {
    name: 'BITFIELD GET SET INCRBY, OVERFLOW WRAP SAT FAIL, signed and unsigned types, # offsets',
    cmds: [
      ['bitfield', 'k', 'set', 'i8', '0', '100', 'get', 'i8', '0', 'incrby', 'i8', '0', '100', 'get', 'u8', '0'], ['get', 'k'],
      ['bitfield', 'k', 'overflow', 'sat', 'incrby', 'i8', '0', '100', 'incrby', 'i8', '0', '-1000', 'overflow', 'fail', 'incrby', 'i8', '0', '-1'],
      ['bitfield', 'k', 'set', 'u8', '#1', '255', 'get', 'u4', '#3', 'incrby', 'u2', '100', '1', 'overflow', 'sat', 'incrby', 'u2', '102', '1'],
      ['get', 'k'], ['bitfield', 'k', 'overflow', 'fail', 'incrby', 'u2', '200', '5'], ['strlen', 'k'], ['get', 'k'],
      ['bitfield', 'k', 'set', 'i64', '0', '-9223372036854775808', 'incrby', 'i64', '0', '-1', 'get', 'i64', '0'],
      ['bitfield', 'k', 'overflow', 'sat', 'set', 'i64', '0', '1', 'incrby', 'i64', '0', BIG, 'overflow', 'fail', 'incrby', 'i64', '0', '1'],
      ['bitfield', 'k', 'set', 'u63', '3', BIG, 'get', 'u63', '3', 'set', 'u63', '3', '-1', 'overflow', 'sat', 'set', 'u63', '3', '-1', 'get', 'u63', '3'],
      ['bitfield', 'k', 'set', 'u1', '7', '3', 'overflow', 'sat', 'set', 'u1', '7', '3', 'set', 'i1', '7', '1', 'get', 'i1', '7', 'set', 'i5', '1', '-100'],
      ['bitfield', 'k', 'overflow', 'wrap', 'incrby', 'i5', '1', '1000', 'incrby', 'u13', '3', '-9000', 'get', 'u13', '3', 'get', 'i13', '3'],
      ['get', 'k'], ['bitfield', 'k'], ['bitfield', 'nokey', 'get', 'u8', '0'], ['exists', 'nokey'], ['bitfield', 'nokey'], ['exists', 'nokey'],
      ['bitfield', 'k', 'get', 'u64', '0'], ['bitfield', 'k', 'get', 'i65', '0'], ['bitfield', 'k', 'get', 'i0', '0'], ['bitfield', 'k', 'get', 'x8', '0'],
      ['bitfield', 'k', 'get', 'u8', '-1'], ['bitfield', 'k', 'get', 'u8', '#-1'], ['bitfield', 'k', 'get', 'u8', 'x'], ['bitfield', 'k', 'get', 'u8', '#x'],
      ['bitfield', 'k', 'get', 'u8', '4294967296'], ['bitfield', 'k', 'get', 'u8', '#536870912'], ['bitfield', 'k', 'get', 'u8', '#536870911'],
      ['bitfield', 'k', 'get', 'u8', '#1152921504606846976'], ['bitfield', 'k', 'set', 'u8', '0', 'x'], ['bitfield', 'k', 'set', 'u8', '0', PAST],
      ['bitfield', 'k', 'incrby', 'u8', '0'], ['bitfield', 'k', 'get', 'u8'], ['bitfield', 'k', 'overflow', 'sometimes', 'get', 'u8', '0'],
      ['bitfield', 'k', 'overflow'], ['bitfield', 'k', 'foo', 'u8', '0'], ['bitfield', 'k', 'get', 'u8', '0', 'set'],
      ['bitfield', 'k', 'get', 'U8', '0'], ['bitfield', 'k', 'get', 'u+8', '0'], ['bitfield', 'k', 'get', 'u08', '0'],
      ['bitfield', 'k', 'get', 'u8', '+1'], ['bitfield', 'k', 'get', 'u8', '# 1'], ['bitfield', 'k', 'GET', 'u8', '0', 'OVERFLOW', 'SAT', 'INCRBY', 'u8', '0', '1000'],
      ['bitfield_ro', 'k', 'get', 'u8', '0', 'get', 'i16', '#1'], ['bitfield_ro', 'k', 'set', 'u8', '0', '1'],
      ['bitfield_ro', 'k', 'incrby', 'u8', '0', '1'], ['bitfield_ro', 'k', 'overflow', 'fail'], ['bitfield_ro', 'k'], ['bitfield_ro', 'nokey', 'get', 'u8', '0'],
      ['lpush', 'l', 'a'], ['bitfield', 'l', 'get', 'u8', '0'], ['bitfield', 'l', 'set', 'u8', '0', '1'], ['bitfield_ro', 'l', 'get', 'u8', '0'],
      ['bitfield_ro', 'l', 'set', 'u8', '0', '1'], ['bitfield', 'l', 'get', 'x', '0'], ['bitfield', 'l'],
      ['bitfield', 'f', 'overflow', 'fail', 'incrby', 'u8', '800', '1000', 'set', 'i4', '20', '100'], ['get', 'f'],
      ['set', 'n', '99'], ['bitfield', 'n', 'get', 'u16', '0', 'set', 'u8', '4', '7'], ['get', 'n'],
      ['set', 't', 'v', 'ex', '100'], ['bitfield', 't', 'set', 'u8', '16', '7'], ['ttl', 't'], ['get', 't'],
    ],
  },
];

describe('bitmap commands match redis-server byte for byte', () => {
  for (const k of CASES) {
    test(k.name, async () => {
      await runScript(redis(), k.cmds);
    });
  }
});

describe('bitmap property: random command sequences give redis-server replies and values', () => {
  test('SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD over random offsets, ranges and values', async () => {
    const key = fc.constantFrom('a', 'b', 'c');
    const off = fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 5000 }));
    const idx = fc.oneof(fc.integer({ min: -60, max: 60 }), fc.integer({ min: -2000, max: 2000 }));
    const unit = fc.constantFrom([], ['bit'], ['byte']);
    const ftype = fc.oneof(
      fc.integer({ min: 1, max: 64 }).map((n) => `i${n}`),
      fc.integer({ min: 1, max: 63 }).map((n) => `u${n}`),
    );
    const num = fc.oneof(fc.integer({ min: -300, max: 300 }), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n })).map(String);
    const foff = fc.oneof(off.map(String), fc.integer({ min: 0, max: 40 }).map((n) => `#${n}`));
    const sub = fc.oneof(
      fc.tuple(ftype, foff).map(([t, o]) => ['get', t, o]),
      fc.tuple(ftype, foff, num).map(([t, o, v]) => ['set', t, o, v]),
      fc.tuple(ftype, foff, num).map(([t, o, v]) => ['incrby', t, o, v]),
      fc.constantFrom(['overflow', 'wrap'], ['overflow', 'sat'], ['overflow', 'fail']),
    );
    const cmd = fc.oneof(
      fc.tuple(key, off, fc.constantFrom('0', '1')).map(([k, o, v]) => ['setbit', k, String(o), v]),
      fc.tuple(key, off).map(([k, o]) => ['getbit', k, String(o)]),
      key.map((k) => ['bitcount', k]),
      fc.tuple(key, idx, idx, unit).map(([k, s, e, u]) => ['bitcount', k, String(s), String(e), ...u]),
      fc.tuple(key, fc.constantFrom('0', '1')).map(([k, b]) => ['bitpos', k, b]),
      fc.tuple(key, fc.constantFrom('0', '1'), idx).map(([k, b, s]) => ['bitpos', k, b, String(s)]),
      fc.tuple(key, fc.constantFrom('0', '1'), idx, idx, unit).map(([k, b, s, e, u]) => ['bitpos', k, b, String(s), String(e), ...u]),
      fc.tuple(fc.constantFrom('and', 'or', 'xor'), key, fc.array(key, { minLength: 1, maxLength: 3 })).map(([o, d, s]) => ['bitop', o, d, ...s]),
      fc.tuple(key, key).map(([d, s]) => ['bitop', 'not', d, s]),
      fc.tuple(key, fc.array(sub, { minLength: 1, maxLength: 5 })).map(([k, s]) => ['bitfield', k, ...s.flat()]),
      fc.tuple(key, fc.array(fc.tuple(ftype, foff), { minLength: 1, maxLength: 3 })).map(([k, s]) => ['bitfield_ro', k, ...s.flatMap(([t, o]) => ['get', t, o])]),
      fc.tuple(key, fc.string({ maxLength: 12 })).map(([k, v]) => ['set', k, v]),
      fc.tuple(key, idx.map(Math.abs), fc.string({ minLength: 1, maxLength: 4 })).map(([k, o, v]) => ['setrange', k, String(o), v]),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 25 }), async (cmds) => {
        const c = redis();
        await c.command(['FLUSHALL']);
        const ours = new OursView();
        for (const args of cmds) {
          const b = bytesArgs(args);
          const theirs = await c.command(b);
          assert.equal(ours.run(b).toString('latin1'), theirs.toString('latin1'), JSON.stringify(args));
        }
        for (const k of ['a', 'b', 'c']) {
          assert.equal(ours.run(['get', k]).toString('latin1'), (await c.command(['get', k])).toString('latin1'), `GET ${k}`);
        }
      }),
      { numRuns: 200 },
    );
  });
});
