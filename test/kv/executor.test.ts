// Executor unit tests: the ops each command produces (final values, expiries, deletions), expiry
// handling at a given nowMs, limits, batches, and the command table helpers.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { execute, executeBatch, MAX_VALUE_BYTES, scanStep } from '../../src/core/kv/executor.ts';
import { COMMANDS, commandKeys, isWriteCommand, lookupCommand } from '../../src/core/kv/command-table.ts';
import type { Op } from '../../src/core/types.ts';
import type { Reply } from '../../src/core/reply.ts';
import { MAX_EXPIRE_AT_MS, MAX_KEY_BYTES } from '../../src/core/kv/arguments.ts';
import { MapView } from './map-view.ts';

const NOW = 1_700_000_000_000;

function b(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

function run(view: MapView, args: string[], nowMs = NOW, maxValueBytes?: number): { reply: Reply; ops: Op[] } {
  const r = execute(args.map(b), view, nowMs, maxValueBytes === undefined ? {} : { maxValueBytes });
  view.apply(r.ops);
  return r;
}

function opsText(ops: readonly Op[]): string[] {
  return ops.map((o) => {
    switch (o.k) {
      case 'flush':
        return 'flush';
      case 'del':
        return `del ${o.key.toString('latin1')}`;
      case 'put':
        return `put ${o.key.toString('latin1')}=${o.value.toString('latin1')}@${o.expireAtMs}`;
      case 'expire':
        return `expire ${o.key.toString('latin1')}@${o.expireAtMs}`;
      case 'elem':
        return `${o.type} ${o.key.toString('latin1')}.${o.elem.toString('latin1')}=${o.value === null ? '-' : o.value.toString('latin1')}`;
      case 'script':
        return `script ${o.key.toString('latin1')}`;
      case 'range':
        return `range ${o.key.toString('latin1')}[${o.offset}]=${o.value.toString('latin1')}`;
    }
  });
}

function withKeys(entries: Array<[string, string, number]>): MapView {
  const v = new MapView();
  v.apply(entries.map(([k, val, exp]) => ({ k: 'put', key: b(k), value: b(val), expireAtMs: exp })));
  return v;
}

describe('executor: writes produce final values', () => {
  test('INCR on a key with a TTL puts the new value and keeps the TTL', () => {
    const v = withKeys([['n', '41', NOW + 5000]]);
    const r = run(v, ['incr', 'n']);
    assert.deepEqual(r.reply, { t: 'int', n: 42 });
    assert.deepEqual(opsText(r.ops), [`put n=42@${NOW + 5000}`]);
  });
  test('values beyond 2^53 are exact', () => {
    const v = withKeys([['n', '9223372036854775806', 0]]);
    const r = run(v, ['incr', 'n']);
    assert.deepEqual(r.reply, { t: 'int', n: 9223372036854775807n });
    assert.deepEqual(opsText(r.ops), ['put n=9223372036854775807@0']);
  });
  test('EXPIRE puts the same value with the new expiry; an expiry in the past deletes', () => {
    const v = withKeys([['k', 'v', 0]]);
    assert.deepEqual(opsText(run(v, ['expire', 'k', '10']).ops), [`expire k@${NOW + 10_000}`]);
    assert.deepEqual(opsText(run(v, ['pexpireat', 'k', String(NOW)]).ops), ['del k']);
    assert.equal(v.size(), 0);
  });
  test('SET with PXAT in the past replies OK and deletes', () => {
    const v = withKeys([['k', 'old', 0]]);
    const r = run(v, ['set', 'k', 'new', 'pxat', String(NOW - 1)]);
    assert.deepEqual(r.reply, { t: 'simple', s: 'OK' });
    assert.deepEqual(opsText(r.ops), ['del k']);
  });
  test('SET EX is absolute from nowMs; KEEPTTL keeps it', () => {
    const v = new MapView();
    assert.deepEqual(opsText(run(v, ['set', 'k', 'v', 'ex', '3']).ops), [`put k=v@${NOW + 3000}`]);
    assert.deepEqual(opsText(run(v, ['set', 'k', 'w', 'keepttl']).ops), [`put k=w@${NOW + 3000}`]);
    assert.deepEqual(opsText(run(v, ['set', 'k', 'x']).ops), ['put k=x@0']);
  });
  test('RENAME moves value and expiry; COPY copies them', () => {
    const v = withKeys([['a', '1', NOW + 99]]);
    assert.deepEqual(opsText(run(v, ['rename', 'a', 'b']).ops), [`put b=1@${NOW + 99}`, 'del a']);
    assert.deepEqual(opsText(run(v, ['copy', 'b', 'c']).ops), [`put c=1@${NOW + 99}`]);
  });
  test('INCRBYFLOAT stores the formatted result', () => {
    const v = withKeys([['f', '10.50', 0]]);
    const r = run(v, ['incrbyfloat', 'f', '0.1']);
    assert.deepEqual(opsText(r.ops), ['put f=10.6@0']);
  });
  test('SETRANGE pads with zero bytes', () => {
    const v = new MapView();
    run(v, ['setrange', 'k', '3', 'ab']);
    assert.deepEqual(v.get(b('k'))?.value, Buffer.from([0, 0, 0, 0x61, 0x62]));
  });
  test('FLUSHALL is one flush op; DBSIZE reads size()', () => {
    const v = withKeys([['a', '1', 0], ['b', '2', 0]]);
    assert.deepEqual(run(v, ['dbsize']).reply, { t: 'int', n: 2 });
    assert.deepEqual(opsText(run(v, ['flushall', 'ASYNC']).ops), ['flush']);
    assert.deepEqual(run(v, ['dbsize']).reply, { t: 'int', n: 0 });
  });
  test('reads and refused commands produce no ops', () => {
    const v = withKeys([['k', 'v', 0], ['s', 'abc', 0]]);
    for (const args of [['get', 'k'], ['mget', 'k', 'x'], ['ttl', 'k'], ['keys', '*'], ['scan', '0'], ['exists', 'k'], ['incr', 's'], ['set', 'k', 'v', 'nx'], ['set', 'k', 'v', 'bad'], ['nosuch'], ['get']]) {
      assert.deepEqual(run(v, args).ops, [], JSON.stringify(args));
    }
  });
});

describe('executor: expired entries are absent', () => {
  const v = withKeys([['old', 'v', NOW], ['live', 'v', NOW + 1]]);
  test('reads', () => {
    assert.deepEqual(execute([b('get'), b('old')], v, NOW).reply, { t: 'bulk', b: null });
    assert.deepEqual(execute([b('get'), b('live')], v, NOW).reply, { t: 'bulk', b: b('v') });
    assert.deepEqual(execute([b('exists'), b('old'), b('live')], v, NOW).reply, { t: 'int', n: 1 });
    assert.deepEqual(execute([b('ttl'), b('old')], v, NOW).reply, { t: 'int', n: -2 });
    assert.deepEqual(execute([b('pttl'), b('live')], v, NOW).reply, { t: 'int', n: 1 });
    assert.deepEqual(execute([b('type'), b('old')], v, NOW).reply, { t: 'simple', s: 'none' });
    const keys = execute([b('keys'), b('*')], v, NOW).reply;
    assert.deepEqual(keys, { t: 'array', items: [{ t: 'bulk', b: b('live') }] });
  });
  test('writes see no old value; DEL of an expired key is not counted but still deletes it', () => {
    assert.deepEqual(opsText(execute([b('incr'), b('old')], v, NOW).ops), ['put old=1@0']);
    assert.deepEqual(execute([b('setnx'), b('old'), b('x')], v, NOW).reply, { t: 'int', n: 1 });
    const d = execute([b('del'), b('old'), b('live')], v, NOW);
    assert.deepEqual(d.reply, { t: 'int', n: 1 });
    assert.deepEqual(opsText(d.ops), ['del old', 'del live']);
  });
});

describe('executor: value size limit', () => {
  test('MAX_VALUE_BYTES is 512 MiB by default', () => assert.equal(MAX_VALUE_BYTES, 512 * 1024 * 1024));
  test('configurable per call, with the proto-max-bulk-len error', () => {
    const v = new MapView();
    const e = { t: 'error', msg: 'ERR string exceeds maximum allowed size (proto-max-bulk-len)' };
    assert.deepEqual(run(v, ['set', 'k', '12345'], NOW, 4).reply, e);
    assert.deepEqual(run(v, ['set', 'k', '1234'], NOW, 4).reply, { t: 'simple', s: 'OK' });
    assert.deepEqual(run(v, ['append', 'k', '5'], NOW, 4).reply, e);
    assert.deepEqual(run(v, ['setrange', 'k', '4', 'x'], NOW, 4).reply, e);
    assert.deepEqual(run(v, ['mset', 'a', '1', 'b', '12345'], NOW, 4).reply, e);
    assert.deepEqual(run(v, ['getset', 'k', '12345'], NOW, 4).reply, e);
    assert.equal(v.get(b('k'))?.value.toString(), '1234');
  });
});

describe('executor: what one update can hold', () => {
  test('a write past maxWriteBytes is refused whole; in a batch the command that crosses it fails and the others apply', () => {
    const v = new MapView();
    // opsBytes of `SET k1 <10 bytes>` is 16 + 2 + 10 = 28.
    const value = 'v'.repeat(10);
    const opts = { maxWriteBytes: 60 };
    const tooLarge = (n: number) => ({ t: 'error', msg: `ERR write too large: its update would hold ${n} bytes of keys and values, above the 60 bytes one update may hold (one log record, MAX_RECORD_BYTES, and one peer frame, limits.maxFrameBytes); split it into smaller writes` });
    const one = execute(['mset', 'a1', value, 'a2', value, 'a3', value].map(b), v, NOW, opts);
    assert.deepEqual(one.reply, tooLarge(84));
    assert.deepEqual(one.ops, []);
    const batch = executeBatch(['k1', 'k2', 'k3'].map((k) => ['set', k, value].map(b)), v, NOW, opts);
    assert.deepEqual(batch.replies, [{ t: 'simple', s: 'OK' }, { t: 'simple', s: 'OK' }, tooLarge(84)]);
    assert.deepEqual(opsText(batch.ops), [`put k1=${value}@0`, `put k2=${value}@0`]);
  });
  test('keys longer than MAX_KEY_BYTES are refused when written, never when only read', () => {
    const v = new MapView();
    const long = 'k'.repeat(MAX_KEY_BYTES + 1);
    const e = { t: 'error', msg: `ERR key too long: ${MAX_KEY_BYTES + 1} bytes, above the ${MAX_KEY_BYTES} bytes a key may have here (MAX_KEY_BYTES, the storage engine's limit); use a shorter key` };
    for (const args of [['set', long, 'v'], ['incr', long], ['append', long, 'x'], ['setrange', long, '0', 'x'], ['msetnx', 'a', '1', long, '2'], ['getset', long, 'v']]) {
      const r = run(v, args);
      assert.deepEqual(r.reply, e, args[0]);
      assert.deepEqual(r.ops, []);
    }
    assert.deepEqual(run(v, ['get', long]).reply, { t: 'bulk', b: null });
    assert.deepEqual(run(v, ['set', long, 'v', 'xx']).reply, { t: 'bulk', b: null }, 'nothing written: no refusal');
    assert.deepEqual(run(v, ['set', 'k'.repeat(MAX_KEY_BYTES), 'v']).reply, { t: 'simple', s: 'OK' });
    assert.equal(v.size(), 1);
  });
  test('expiry times stop at MAX_EXPIRE_AT_MS, the latest an update carries', () => {
    const v = withKeys([['k', 'v', 0]]);
    assert.deepEqual(run(v, ['pexpireat', 'k', String(MAX_EXPIRE_AT_MS)]).ops, [{ k: 'expire', key: b('k'), expireAtMs: MAX_EXPIRE_AT_MS }]);
    for (const args of [['pexpireat', 'k', String(MAX_EXPIRE_AT_MS + 1)], ['pexpire', 'k', String(MAX_EXPIRE_AT_MS - NOW + 1)], ['set', 'k', 'v', 'pxat', '9223372036854775807'], ['getex', 'k', 'exat', '9007199254741']]) {
      const r = run(v, args);
      assert.deepEqual(r.reply, { t: 'error', msg: `ERR invalid expire time in '${args[0]}' command` }, args.join(' '));
      assert.deepEqual(r.ops, []);
    }
  });
});

describe('executeBatch: each command sees the previous ones', () => {
  test('MULTI-like sequence', () => {
    const base = withKeys([['a', '1', 0]]);
    const r = executeBatch(
      [['incr', 'a'], ['incr', 'a'], ['rename', 'a', 'b'], ['get', 'b'], ['exists', 'a'], ['dbsize'], ['incr', 'x'], ['bogus'], ['flushall'], ['dbsize'], ['set', 'z', '1'], ['dbsize']].map((c) => c.map(b)),
      base,
      NOW,
    );
    assert.deepEqual(
      r.replies.map((x) => (x.t === 'int' ? x.n : x.t === 'bulk' ? x.b?.toString() : x.t === 'error' ? 'error' : x.t === 'simple' ? x.s : x.t)),
      [2, 3, 'OK', '3', 0, 1, 1, 'error', 'OK', 0, 'OK', 1],
    );
    assert.deepEqual(opsText(r.ops), ['put a=2@0', 'put a=3@0', 'put b=3@0', 'del a', 'put x=1@0', 'flush', 'put z=1@0']);
    // The base view is untouched; applying the ops gives the final state.
    assert.deepEqual(base.dump(), [['a', '1', 0]]);
    base.apply(r.ops);
    assert.deepEqual(base.dump(), [['z', '1', 0]]);
  });

  test('random batches: the ops applied in order give the state that sequential execution gives', () => {
    const key = fc.constantFrom('a', 'b', 'c');
    const cmd = fc.oneof(
      fc.tuple(fc.constant('set'), key, fc.constantFrom('1', 'x', '5')),
      fc.tuple(fc.constantFrom('incr', 'del', 'getdel', 'persist', 'get'), key),
      fc.tuple(fc.constant('append'), key, fc.constantFrom('1', 'z')),
      fc.tuple(fc.constantFrom('rename', 'copy', 'renamenx'), key, key),
      fc.tuple(fc.constant('expire'), key, fc.constantFrom('10', '-1')),
      fc.constant(['flushdb'] as const),
      fc.constant(['dbsize'] as const),
    );
    fc.assert(
      fc.property(fc.array(cmd, { maxLength: 25 }), (cmds) => {
        const seq = withKeys([['a', '7', 0], ['b', 'v', NOW + 100]]);
        const batchBase = withKeys([['a', '7', 0], ['b', 'v', NOW + 100]]);
        const seqReplies = cmds.map((c) => run(seq, [...c]).reply);
        const r = executeBatch(cmds.map((c) => c.map(b)), batchBase, NOW);
        assert.deepEqual(r.replies, seqReplies);
        batchBase.apply(r.ops);
        assert.deepEqual(batchBase.dump(), seq.dump());
      }),
      { numRuns: 300 },
    );
  });
});

describe('SCAN cursor', () => {
  test('keys sharing a 7-byte prefix are never split across calls, so none repeats', () => {
    const v = new MapView();
    for (let i = 0; i < 300; i++) v.apply([{ k: 'put', key: b(`{tag}abcdefgh${i}`), value: b('v'), expireAtMs: 0 }]);
    const step = scanStep(v, 0n, 5);
    // All 300 keys share one region (hash tag) and the 7-byte prefix "{tag}ab": one call returns them.
    assert.equal(step.entries.length, 300);
  });
  test('full iterations return every key once for any COUNT, also with keys deleted meanwhile', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ maxLength: 9 }), { maxLength: 80 }), fc.integer({ min: 1, max: 20 }), (keys, count) => {
        const v = new MapView();
        for (const k of keys) v.apply([{ k: 'put', key: b(k), value: b('v'), expireAtMs: 0 }]);
        const seen: string[] = [];
        let cursor = 0n;
        for (let calls = 0; calls < 10_000; calls++) {
          const s = scanStep(v, cursor, count);
          for (const [k] of s.entries) seen.push(k.toString('latin1'));
          // Deleting an already returned key must not disturb the rest of the iteration.
          if (s.entries.length > 0) v.apply([{ k: 'del', key: s.entries[0]![0] }]);
          cursor = s.next;
          if (cursor === 0n) break;
        }
        assert.equal(cursor, 0n);
        assert.deepEqual([...seen].sort(), keys.map((k) => Buffer.from(k, 'latin1').toString('latin1')).sort());
      }),
      { numRuns: 200 },
    );
  });
  test('a cursor beyond the last region ends the iteration', () => {
    assert.deepEqual(scanStep(new MapView(), 1n << 62n, 10), { next: 0n, entries: [] });
  });
});

describe('command table', () => {
  test('every command has a handler and a sane spec', () => {
    const v = new MapView();
    for (const c of COMMANDS) {
      assert.equal(c.name, c.name.toLowerCase());
      assert.ok(c.arity !== 0);
      // Exactly one of: writes, only reads, or decides by what it runs (scripts).
      assert.equal([c.flags.includes('write'), c.flags.includes('readonly'), c.flags.includes('may_replicate')].filter(Boolean).length, 1, c.name);
      // Right arity reaches the handler: the reply is not "unknown command" nor an arity error.
      const args = [c.name, ...Array.from({ length: Math.abs(c.arity) - 1 }, () => '1')];
      const r = execute(args.map(b), v, NOW).reply;
      assert.ok(!(r.t === 'error' && /unknown command|wrong number/.test(r.msg)), `${c.name}: ${JSON.stringify(r)}`);
    }
  });
  test('lookup is case-insensitive; isWriteCommand', () => {
    assert.equal(lookupCommand(b('gEt'))?.name, 'get');
    assert.equal(lookupCommand('nosuch'), undefined);
    assert.equal(isWriteCommand('SET'), true);
    assert.equal(isWriteCommand(b('incrbyfloat')), true);
    assert.equal(isWriteCommand('get'), false);
    assert.equal(isWriteCommand('nosuch'), false);
  });
  test('commandKeys follows firstKey/lastKey/step', () => {
    const keys = (args: string[]): string[] => commandKeys(args.map(b)).map(String);
    assert.deepEqual(keys(['get', 'a']), ['a']);
    assert.deepEqual(keys(['set', 'a', 'v', 'ex', '10']), ['a']);
    assert.deepEqual(keys(['mset', 'a', '1', 'b', '2']), ['a', 'b']);
    assert.deepEqual(keys(['del', 'a', 'b', 'c']), ['a', 'b', 'c']);
    assert.deepEqual(keys(['rename', 'a', 'b']), ['a', 'b']);
    assert.deepEqual(keys(['copy', 'a', 'b', 'replace']), ['a', 'b']);
    assert.deepEqual(keys(['keys', '*']), []);
    assert.deepEqual(keys(['flushall']), []);
    assert.deepEqual(keys(['get']), []);
    assert.deepEqual(keys(['nosuch', 'a']), []);
  });
});
