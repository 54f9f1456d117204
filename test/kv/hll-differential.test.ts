// Differential tests of the HyperLogLog commands against redis-server: replies byte for byte,
// and the HLL values themselves (GET) byte for byte — sparse ones, the promotion to dense at
// hll-sparse-max-bytes, dense ones, cached cardinalities — and a value written by Redis read here.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bytesArgs, OursView, runScript } from './string-diff.ts';
import { useRedisServer } from './redis-server.ts';
import { HLL_DENSE_SIZE, HLL_SPARSE_MAX_BYTES } from '../../src/core/kv/hll.ts';

/** The redis-server of this file, started before its tests. */
const redis = useRedisServer();

function elems(prefix: string, n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${from + i}`);
}

async function sameValue(ours: OursView, key: string): Promise<Buffer> {
  const theirs = await redis().command(['get', key]);
  assert.equal(ours.run(['get', key]).toString('hex'), theirs.toString('hex'), `GET ${key}`);
  return theirs;
}

describe('HyperLogLog matches redis-server', () => {
  test('PFADD PFCOUNT PFMERGE replies, errors and GET bytes', async () => {
    const ours = await runScript(redis(), [
      ['pfadd', 'h'], ['get', 'h'], ['pfadd', 'h'], ['pfcount', 'h'], ['get', 'h'], ['pfadd', 'h', 'a', 'b', 'c'], ['get', 'h'],
      ['pfadd', 'h', 'a'], ['pfcount', 'h'], ['get', 'h'], ['pfcount', 'h'], ['pfadd', 'h2', 'c', 'd', 'e', 'f'],
      ['pfcount', 'h', 'h2'], ['pfcount', 'h', 'h2', 'nokey'], ['get', 'h2'], ['pfmerge', 'm', 'h', 'h2'], ['get', 'm'], ['pfcount', 'm'],
      ['pfmerge', 'm'], ['get', 'm'], ['pfmerge', 'new'], ['get', 'new'], ['pfcount', 'nokey'], ['pfcount', 'nokey', 'nokey2'],
      ['set', 's', 'not an hll'], ['pfadd', 's', 'a'], ['pfcount', 's'], ['pfcount', 'h', 's'], ['pfmerge', 'm', 's'], ['pfmerge', 's', 'h'],
      ['lpush', 'l', 'x'], ['pfadd', 'l', 'a'], ['pfcount', 'l'], ['pfcount', 'h', 'l'], ['pfmerge', 'l', 'h'], ['pfmerge', 'h', 'l'],
      ['set', 'bad', 'HYLL\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'], ['pfadd', 'bad', 'a'], ['pfcount', 'bad'],
      ['set', 'shortdense', 'HYLL\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'], ['pfadd', 'shortdense', 'a'],
      ['set', 'corrupt', 'HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff'], ['pfadd', 'corrupt', 'a'], ['pfcount', 'corrupt'],
      ['pfcount', 'corrupt', 'h'], ['pfmerge', 'm', 'corrupt'], ['set', 'hdr', 'HYLL'], ['pfcount', 'hdr'],
      ['pfadd'], ['pfcount'], ['pfmerge'], ['set', 'x', 'v', 'ex', '100'], ['pfadd', 'h', 'zz'], ['ttl', 'h'],
    ]);
    await sameValue(ours, 'h');
  });

  test('growing past the sparse limit turns dense exactly where Redis does, with equal estimates all along', async () => {
    const ours = await runScript(redis(), []);
    let dense = false;
    for (let i = 0; i < 60 && !dense; i++) {
      const args = ['pfadd', 'big', ...elems(`e${i}-`, 100)];
      const theirs = await redis().command(args);
      assert.equal(ours.run(args).toString(), theirs.toString());
      const c = ['pfcount', 'big'];
      assert.equal(ours.run(c).toString(), (await redis().command(c)).toString(), `PFCOUNT after ${(i + 1) * 100}`);
      const v = await sameValue(ours, 'big');
      dense = v.length > HLL_SPARSE_MAX_BYTES;
    }
    assert.ok(dense, 'the HLL never turned dense');
    // Dense from here: more elements, merges with sparse ones, cardinalities.
    for (const args of [['pfadd', 'big', ...elems('more', 500)], ['pfadd', 'sp', 'x', 'y'], ['pfmerge', 'dst', 'sp', 'big'], ['pfcount', 'dst'], ['pfcount', 'big', 'sp'], ['pfmerge', 'sp2', 'sp'], ['pfcount', 'big']]) {
      assert.equal(ours.run(args).toString(), (await redis().command(args)).toString(), JSON.stringify(args.slice(0, 3)));
    }
    for (const k of ['big', 'dst', 'sp2']) await sameValue(ours, k);
    assert.equal((await redis().command(['strlen', 'big'])).toString(), `:${HLL_DENSE_SIZE}\r\n`);
  });

  test('an HLL written by Redis (GET there, SET here) is read and extended here as Redis would', async () => {
    const c = redis();
    await c.command(['flushall']);
    await c.command(['pfadd', 'r', ...elems('r', 300)]);
    await c.command(['pfadd', 'd', ...elems('d', 5000)]);
    const ours = new OursView();
    for (const k of ['r', 'd']) {
      const v = await c.command(['get', k]);
      const body = v.subarray(v.indexOf('\r\n') + 2, v.length - 2);
      assert.equal(ours.run(['set', k, body]).toString(), '+OK\r\n');
    }
    for (const args of [['pfcount', 'r'], ['pfcount', 'd'], ['pfadd', 'r', ...elems('x', 50)], ['pfadd', 'd', ...elems('x', 50)], ['pfcount', 'r', 'd'], ['pfmerge', 'r', 'd'], ['pfcount', 'r']]) {
      assert.equal(ours.run(args).toString(), (await c.command(args)).toString(), JSON.stringify(args.slice(0, 2)));
    }
    for (const k of ['r', 'd']) await sameValue(ours, k);
  });

  test('property: random PFADD PFCOUNT PFMERGE sequences give Redis\'s replies and bytes', async () => {
    const key = fc.constantFrom('a', 'b', 'c');
    const ele = fc.oneof(fc.string({ maxLength: 12 }), fc.integer({ min: 0, max: 3000 }).map(String));
    const cmd = fc.oneof(
      fc.tuple(key, fc.array(ele, { maxLength: 40 })).map(([k, e]) => ['pfadd', k, ...e]),
      fc.tuple(key, fc.integer({ min: 1, max: 400 }), fc.integer({ min: 0, max: 100000 })).map(([k, n, from]) => ['pfadd', k, ...elems('n', n, from)]),
      fc.array(key, { minLength: 1, maxLength: 3 }).map((ks) => ['pfcount', ...ks]),
      fc.array(key, { minLength: 1, maxLength: 3 }).map((ks) => ['pfmerge', ...ks]),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 20 }), async (cmds) => {
        const c = redis();
        await c.command(['flushall']);
        const ours = new OursView();
        for (const args of cmds) {
          const b = bytesArgs(args);
          assert.equal(ours.run(b).toString('latin1'), (await c.command(b)).toString('latin1'), JSON.stringify(args.slice(0, 4)));
        }
        for (const k of ['a', 'b', 'c']) await sameValue(ours, k);
      }),
      { numRuns: 60 },
    );
  });
});
