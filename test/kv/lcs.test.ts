// LCS beyond the scripted cases: random strings over a small alphabet (many equally long
// subsequences, so the choice among them is tested) give redis-server's replies byte for byte,
// and the table-size limit that is narrower here than Redis's refuses with its own message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { execute } from '../../src/core/kv/executor.ts';
import { E_LCS_TOO_BIG_HERE, MAX_LCS_TABLE_BYTES } from '../../src/core/kv/lcs-command.ts';
import { encodeReply } from '../../src/resp/writer.ts';
import { MapView } from './map-view.ts';
import { useRedisServer } from './redis-server.ts';

const redisClient = useRedisServer();

function ours(view: MapView, args: readonly string[], version: 2 | 3 = 2): string {
  const r = execute(args.map((a) => Buffer.from(a)), view, Date.now());
  view.apply(r.ops);
  return encodeReply(r.reply, version).toString('latin1');
}

test('LCS of random strings matches redis-server (subsequence, LEN, IDX with MINMATCHLEN and WITHMATCHLEN, RESP2 and RESP3)', async () => {
  const c = redisClient();
  const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd'), maxLength: 40 });
  await fc.assert(
    fc.asyncProperty(word, word, fc.integer({ min: -1, max: 4 }), fc.constantFrom(2 as const, 3 as const), async (s1, s2, min, version) => {
      const view = new MapView();
      await c.command(['HELLO', String(version)]);
      for (const args of [
        ['mset', 'a', s1, 'b', s2],
        ['lcs', 'a', 'b'],
        ['lcs', 'a', 'b', 'len'],
        ['lcs', 'a', 'b', 'idx'],
        ['lcs', 'a', 'b', 'idx', 'minmatchlen', String(min), 'withmatchlen'],
        ['lcs', 'b', 'a', 'withmatchlen', 'idx'],
      ]) {
        assert.equal(ours(view, args, version), (await c.command(args)).toString('latin1'), JSON.stringify(args));
      }
    }),
    { numRuns: 150 },
  );
  await c.command(['HELLO', '2']);
});

test('LCS whose table would pass MAX_LCS_TABLE_BYTES is refused here with a message naming the limit (Redis, bounded by proto-max-bulk-len, computes it)', async () => {
  const side = Math.ceil(Math.sqrt(MAX_LCS_TABLE_BYTES / 4));
  assert.ok((side + 1) * (side + 1) * 4 > MAX_LCS_TABLE_BYTES && (side + 1) * (side + 1) * 4 <= 512 * 1024 * 1024);
  const s1 = 'ab'.repeat(side / 2 + 1).slice(0, side);
  const s2 = 'ba'.repeat(side / 2 + 1).slice(0, side);
  const c = redisClient();
  await c.command(['HELLO', '2']);
  await c.command(['mset', 'a', s1, 'b', s2]);
  const theirs = (await c.command(['lcs', 'a', 'b', 'len'])).toString('latin1');
  assert.match(theirs, /^:\d+\r\n$/, 'redis-server computes it: still a deviation');
  const view = new MapView();
  ours(view, ['mset', 'a', s1, 'b', s2]);
  assert.equal(ours(view, ['lcs', 'a', 'b', 'len']), `-${E_LCS_TOO_BIG_HERE}\r\n`);
});
