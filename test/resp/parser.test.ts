import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_BULK_BYTES, MAX_INLINE_BYTES, MAX_MULTIBULK_ARGS, RespParser, splitInlineArgs } from '../../src/resp/parser.ts';
import type { ParserLimits } from '../../src/resp/parser.ts';
import { isUnderstudyError } from '../../src/errors.ts';

function multibulk(args: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) parts.push(Buffer.from(`$${a.length}\r\n`), a, Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

/** An inline encoding Redis would split back into `args`: double quotes with \xHH escapes. */
function inline(args: readonly Buffer[], crlf: boolean): Buffer {
  const words = args.map((a) => {
    let s = '"';
    for (const b of a) {
      if (b === 0x22 || b === 0x5c || b < 0x20 || b > 0x7e) s += '\\x' + b.toString(16).padStart(2, '0');
      else s += String.fromCharCode(b);
    }
    return s + '"';
  });
  return Buffer.from(words.join(' ') + (crlf ? '\r\n' : '\n'), 'latin1');
}

function feedAll(p: RespParser, chunks: readonly Buffer[]): { commands: Buffer[][]; error: string | null } {
  const commands: Buffer[][] = [];
  for (const c of chunks) {
    const r = p.feed(c);
    commands.push(...r.commands);
    if (r.error) return { commands, error: r.error.message };
  }
  return { commands, error: null };
}

function split(buf: Buffer, cuts: readonly number[]): Buffer[] {
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

function parse(input: string | Buffer, limits?: ParserLimits): { commands: string[][]; error: string | null } {
  const r = feedAll(new RespParser(limits), [typeof input === 'string' ? Buffer.from(input, 'latin1') : input]);
  return { commands: r.commands.map((c) => c.map((a) => a.toString('latin1'))), error: r.error };
}

const arg = fc.oneof(
  fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
  fc.constantFrom('SET', 'GET', 'a b', '"', "'", '\\', '\r\n', '', '*1', '$3').map((s) => Buffer.from(s, 'latin1')),
);
const command = fc.array(arg, { minLength: 1, maxLength: 6 });
const encoded = fc.tuple(command, fc.constantFrom('multibulk', 'inline-crlf', 'inline-lf')).map(([args, how]) => ({
  args,
  bytes: how === 'multibulk' ? multibulk(args) : inline(args, how === 'inline-crlf'),
}));

describe('RespParser: any split of any pipeline gives the same commands', () => {
  test('random pipelines of multibulk and inline commands, random chunk splits', () => {
    fc.assert(
      fc.property(fc.array(encoded, { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), fc.boolean(), (cmds, cuts, copyArgs) => {
        const whole = Buffer.concat(cmds.map((c) => c.bytes));
        const r = feedAll(new RespParser({ copyArgs }), split(whole, cuts));
        assert.equal(r.error, null);
        assert.deepEqual(
          r.commands.map((c) => c.map((a) => a.toString('hex'))),
          cmds.map((c) => c.args.map((a) => a.toString('hex'))),
        );
      }),
      { numRuns: 500 },
    );
  });

  test('byte-at-a-time feeding', () => {
    fc.assert(
      fc.property(fc.array(encoded, { minLength: 1, maxLength: 5 }), (cmds) => {
        const whole = Buffer.concat(cmds.map((c) => c.bytes));
        const chunks = Array.from({ length: whole.length }, (_, i) => whole.subarray(i, i + 1));
        const r = feedAll(new RespParser(), chunks);
        assert.equal(r.error, null);
        assert.equal(r.commands.length, cmds.length);
      }),
      { numRuns: 100 },
    );
  });

  test('a large bulk split into many chunks is assembled once, and the arguments around it survive', () => {
    const big = Buffer.alloc(300_000, 0x61);
    big[0] = 0x62;
    big[big.length - 1] = 0x63;
    const whole = Buffer.concat([multibulk([Buffer.from('SET'), Buffer.from('k'), big]), multibulk([Buffer.from('GET'), Buffer.from('k')])]);
    const p = new RespParser();
    const chunks: Buffer[] = [];
    for (let i = 0; i < whole.length; i += 7000) chunks.push(whole.subarray(i, i + 7000));
    const r = feedAll(p, chunks);
    assert.equal(r.error, null);
    assert.equal(r.commands.length, 2);
    assert.ok(r.commands[0]![2]!.equals(big));
    assert.equal(r.commands[1]![0]!.toString(), 'GET');
    assert.equal(p.pendingBytes, 0);
  });

  test('pipelines with large bulks (assembled in place) under random splits', () => {
    const bigArg = fc.tuple(fc.integer({ min: 32 * 1024 - 2, max: 70 * 1024 }), fc.integer({ min: 0, max: 255 })).map(([n, fill]) => {
      const a = Buffer.alloc(n, fill);
      a[0] = 0x24; // '$' and CRLF inside the data must not confuse the parser
      a[n >> 1] = 13;
      a[(n >> 1) + 1] = 10;
      return a;
    });
    const cmdWithBig = fc.array(fc.oneof(arg, bigArg), { minLength: 1, maxLength: 4 }).map((args) => ({ args, bytes: multibulk(args) }));
    fc.assert(
      fc.property(fc.array(fc.oneof(encoded, cmdWithBig), { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 40 }), (cmds, cuts) => {
        const whole = Buffer.concat(cmds.map((c) => c.bytes));
        const p = new RespParser();
        const r = feedAll(p, split(whole, cuts));
        assert.equal(r.error, null);
        assert.equal(r.commands.length, cmds.length);
        r.commands.forEach((c, i) => {
          const want = cmds[i]!.args;
          assert.equal(c.length, want.length);
          c.forEach((a, j) => assert.ok(a.equals(want[j]!), `command ${i} argument ${j}`));
        });
        assert.equal(p.pendingBytes, 0);
      }),
      { numRuns: 150 },
    );
  });

  test('copyArgs=false returns slices of the input, copyArgs=true owns its bytes', () => {
    const input = multibulk([Buffer.from('GET'), Buffer.from('key')]);
    const sliced = new RespParser({ copyArgs: false }).feed(input).commands[0]![1]!;
    const copied = new RespParser().feed(input).commands[0]![1]!;
    input.fill(0x7a);
    assert.equal(sliced.toString(), 'zzz');
    assert.equal(copied.toString(), 'key');
  });
});

describe('RespParser: inline commands as Redis splits them', () => {
  test('blanks, empty lines, LF-only endings', () => {
    assert.deepEqual(parse('PING\r\n\r\n  \t \r\nSET a  b\nGET a\r\n'), {
      commands: [['PING'], ['SET', 'a', 'b'], ['GET', 'a']],
      error: null,
    });
  });
  test('double quotes with escapes, single quotes, quotes inside a word', () => {
    assert.deepEqual(parse('SET "a b" "x\\ny\\x41\\"\\q\\t" \'it\\\'s\' pre"fix"\r\n').commands, [
      ['SET', 'a b', 'x\nyA"q\t', "it's", 'prefix'],
    ]);
    assert.deepEqual(parse('SET "" \'\'\r\n').commands, [['SET', '', '']]);
    assert.deepEqual(parse('GET "\\xZZ"\r\n').commands, [['GET', 'xZZ']]);
  });
  test('a NUL byte ends the line as in C', () => {
    assert.deepEqual(parse(Buffer.from('GET a\0b c\r\n', 'latin1')).commands, [['GET', 'a']]);
  });
  test('splitInlineArgs on a slice', () => {
    const b = Buffer.from('xxSET k vyy');
    assert.deepEqual(splitInlineArgs(b, 2, 9)?.map(String), ['SET', 'k', 'v']);
  });
});

describe('RespParser: malformed input gives Redis error texts', () => {
  const cases: Array<[string, string, string]> = [
    ['unbalanced double quote', 'GET "a\r\n', 'Protocol error: unbalanced quotes in request'],
    ['unbalanced single quote', "GET 'a\r\n", 'Protocol error: unbalanced quotes in request'],
    ['closing quote followed by text', 'GET "a"b\r\n', 'Protocol error: unbalanced quotes in request'],
    ['non-numeric multibulk length', '*x\r\n', 'Protocol error: invalid multibulk length'],
    ['empty multibulk length', '*\r\n', 'Protocol error: invalid multibulk length'],
    ['plus-signed multibulk length', '*+1\r\n', 'Protocol error: invalid multibulk length'],
    ['leading zero multibulk length', '*01\r\n', 'Protocol error: invalid multibulk length'],
    ['too many arguments', `*${MAX_MULTIBULK_ARGS + 1}\r\n`, 'Protocol error: invalid multibulk length'],
    ['negative bulk length', '*1\r\n$-1\r\n', 'Protocol error: invalid bulk length'],
    ['non-numeric bulk length', '*1\r\n$abc\r\n', 'Protocol error: invalid bulk length'],
    ['bulk beyond the limit', `*1\r\n$${MAX_BULK_BYTES + 1}\r\n`, 'Protocol error: invalid bulk length'],
    ['missing dollar', '*1\r\nx3\r\n', "Protocol error: expected '$', got 'x'"],
    ['integer instead of bulk', '*2\r\n$3\r\nGET\r\n:1\r\n', "Protocol error: expected '$', got ':'"],
  ];
  for (const [name, input, msg] of cases) {
    test(name, () => {
      const r = parse(input);
      assert.equal(r.error, msg);
    });
  }

  test('too big inline request (whether or not the line end has arrived)', () => {
    const line = 'a'.repeat(MAX_INLINE_BYTES + 1);
    assert.equal(parse(line).error, 'Protocol error: too big inline request');
    assert.equal(parse(line + '\r\n').error, 'Protocol error: too big inline request');
    assert.equal(parse('a'.repeat(MAX_INLINE_BYTES) + '\r\n').error, null);
    assert.equal(parse('abcdef', { maxInlineBytes: 4 }).error, 'Protocol error: too big inline request');
  });

  test('too big count strings', () => {
    assert.equal(parse('*' + '1'.repeat(100), { maxInlineBytes: 50 }).error, 'Protocol error: too big mbulk count string');
    assert.equal(parse('*1\r\n$' + '1'.repeat(100), { maxInlineBytes: 50 }).error, 'Protocol error: too big bulk count string');
  });

  test('configurable limits', () => {
    assert.equal(parse('*1\r\n$5\r\nhello\r\n', { maxBulkBytes: 4 }).error, 'Protocol error: invalid bulk length');
    assert.equal(parse('*3\r\n', { maxMultibulkArgs: 2 }).error, 'Protocol error: invalid multibulk length');
    assert.equal(parse('*2\r\n$4\r\nPING\r\n$4\r\nabcd\r\n', { maxBulkBytes: 4, maxMultibulkArgs: 2 }).error, null);
  });

  test('commands before the bad one are returned; the parser then stays failed', () => {
    const p = new RespParser();
    const r = p.feed(Buffer.from('*1\r\n$4\r\nPING\r\nGET "x\r\n'));
    assert.deepEqual(r.commands.map((c) => c.map(String)), [['PING']]);
    assert.ok(r.error && isUnderstudyError(r.error, 'RESP_PROTOCOL'));
    assert.equal(r.error.toResp(), 'ERR Protocol error: unbalanced quotes in request');
    const again = p.feed(Buffer.from('*1\r\n$4\r\nPING\r\n'));
    assert.deepEqual(again.commands, []);
    assert.equal(again.error, r.error);
  });

  test('*0, *-1 are skipped; bulk CRLF is not checked (as Redis)', () => {
    assert.deepEqual(parse('*0\r\n*-1\r\n*1\r\n$3\r\nabcXY').commands, [['abc']]);
  });

  test('malformed input at any split point gives the same error', () => {
    fc.assert(
      fc.property(fc.constantFrom(...cases.map((c) => c)), fc.array(fc.nat(), { maxLength: 5 }), ([, input, msg], cuts) => {
        const prefix = multibulk([Buffer.from('GET'), Buffer.from('k')]);
        const whole = Buffer.concat([prefix, Buffer.from(input, 'latin1')]);
        const r = feedAll(new RespParser(), split(whole, cuts));
        assert.equal(r.error, msg);
        assert.equal(r.commands.length, 1);
      }),
      { numRuns: 300 },
    );
  });
});
