// Number parsing and INCRBYFLOAT arithmetic against redis-server: the long-double emulation must
// agree on every accepted/refused string and on every printed digit.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { execute } from '../../src/core/kv/executor.ts';
import { encodeReply } from '../../src/resp/writer.ts';
import { isDeliberateDeviation } from './deviations.ts';
import { MapView } from './map-view.ts';
import { useRedisServer } from './redis-server.ts';

const redisClient = useRedisServer();

async function both(script: readonly (readonly string[])[]): Promise<void> {
  const c = redisClient();
  await c.command(['FLUSHALL']);
  const view = new MapView();
  for (const args of script) {
    const theirs = (await c.command(args.map((a) => Buffer.from(a)))).toString('latin1');
    const now = Date.now();
    const r = execute(args.map((a) => Buffer.from(a)), view, now);
    view.apply(r.ops);
    const ours = encodeReply(r.reply).toString('latin1');
    if (isDeliberateDeviation(args, ours, theirs, now)) continue;
    assert.equal(ours, theirs, JSON.stringify(args));
  }
}

const decimal = fc.oneof(
  fc.double({ noNaN: true }).map((d) => String(d)),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => d.toExponential()),
  fc.double({ noNaN: true, min: -1e15, max: 1e15, noDefaultInfinity: true }).map((d) => d.toFixed(fc.sample(fc.integer({ min: 0, max: 20 }), 1)[0])),
  fc.tuple(fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }), fc.integer({ min: -60, max: 60 })).map(([m, e]) => `${m}e${e}`),
  fc.tuple(fc.integer({ min: 0, max: 99999 }), fc.integer({ min: 0, max: 99999999 })).map(([i, f]) => `${i}.${String(f).padStart(8, '0')}`),
  fc.tuple(fc.constantFrom('', '-', '+'), fc.stringMatching(/^[0-9a-fA-F]{1,8}(\.[0-9a-f]{0,4})?$/), fc.integer({ min: -40, max: 40 })).map(([s, h, p]) => `${s}0x${h}p${p}`),
  fc.constantFrom('0.1', '.1', '1.', '-.5', '1e', 'e1', '1e+', '--1', '+-1', '0x', '0x.p1', 'INF', '-Infinity', 'NaN', 'nan(1)', '1_0', '1,5', '١', '0.1 ', '\t1', '1\u0000', '1e-4950', '1e-4960', '1e4932', '1.18e4932', '1.19e4932'),
);

describe('differential: INCRBYFLOAT parsing, arithmetic and formatting', () => {
  test('random sequences of increments from random starting strings', async () => {
    await fc.assert(
      fc.asyncProperty(decimal, fc.array(decimal, { minLength: 1, maxLength: 6 }), async (start, incs) => {
        await both([['set', 'f', start], ...incs.map((d) => ['incrbyfloat', 'f', d]), ['get', 'f']]);
      }),
      { numRuns: 400 },
    );
  });

  test('values that sum to exact ties and cancellations', async () => {
    await both([
      ['incrbyfloat', 'a', '0.000000000000000005'],
      ['incrbyfloat', 'a', '0.000000000000000005'],
      ['incrbyfloat', 'b', '1e20'],
      ['incrbyfloat', 'b', '-1e20'],
      ['incrbyfloat', 'c', '-0.000000000000000001'],
      ['incrbyfloat', 'd', '18446744073709551615'],
      ['incrbyfloat', 'd', '1'],
      ['incrbyfloat', 'e', '0x1p-16445'],
      ['incrbyfloat', 'g', '0x1p16383'],
      ['incrbyfloat', 'g', '0x1p16383'],
      ['incrbyfloat', 'h', '3.6451995318824746025e-4951'],
    ]);
  });
});

describe('differential: integer arguments', () => {
  const intText = fc.oneof(
    fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n }).map(String),
    fc.stringMatching(/^[-+ 0]?[0-9]{0,21}[ .x]?$/),
  );
  test('INCRBY, DECRBY, SETRANGE offsets, GETRANGE indexes, EXPIRE times accept and refuse alike', async () => {
    await fc.assert(
      fc.asyncProperty(intText, intText, async (x, y) => {
        await both([
          ['set', 'n', x],
          ['incrby', 'n', y],
          ['decrby', 'n', y],
          ['incr', 'n'],
          ['set', 's', 'hello world'],
          ['getrange', 's', x, y],
          ['setrange', 'nokey', x, ''],
          ['expire', 's', y, 'gt'],
          ['pexpireat', 's', y, 'lt'],
          ['exists', 's'],
        ]);
      }),
      { numRuns: 300 },
    );
  });
});
