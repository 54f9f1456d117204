// Bitmaps and HyperLogLogs through a kill -9 of the primary: ioredis workers set bits of a
// bitmap several MiB long (stored in chunks, replicated as range ops) and add elements to a
// HyperLogLog that turns dense on the way, while the primary's process is killed. Afterwards
// every acknowledged bit is set and every acknowledged element is counted (a PFADD of it again
// changes nothing), and once the old primary has rejoined, GET of the bitmap and of the HLL and
// PFCOUNT give the same bytes on every node.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { ProcessCluster, sentinelClient, sleep, waitFor, CONVERGE_TIMEOUT_MS } from './harness.ts';

/** The bitmap's last bit: 8 MiB, 2048 chunks of LMDB's string layout. */
const BITMAP_BITS = 8 * 1024 * 1024 * 8;
/** Bounded load: this many commands or this long, whichever first. */
const MAX_COMMANDS = 1500;
const MAX_LOAD_MS = 15_000;
const KILL_AFTER_ACKS = 300;
const ERROR_BACKOFF_MS = 20;

let cluster: ProcessCluster;
let redis: Redis | undefined;
const direct: Redis[] = [];

before(async () => {
  cluster = await ProcessCluster.create({ nodes: 3 });
  await cluster.startAll();
});

after(async () => {
  redis?.disconnect();
  for (const r of direct) r.disconnect();
  await cluster?.close();
});

function sha(b: Buffer | null): string {
  return b === null ? 'nil' : `${b.length}:${createHash('sha256').update(b).digest('hex')}`;
}

test('kill -9 of the primary while bits are set and HLL elements added: nothing acknowledged is lost, every node holds the same bytes', async (t) => {
  const first = await cluster.waitPrimary();
  redis = sentinelClient(cluster);
  const client = redis;
  assert.equal(await client.setbit('bm', BITMAP_BITS - 1, 1), 0);
  const ackedBits: number[] = [];
  const ackedElems: string[] = [];
  let acks = 0;
  let sent = 0;
  let killing: Promise<unknown> | null = null;
  const errors: string[] = [];
  const started = Date.now();
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; sent < MAX_COMMANDS && Date.now() - started < MAX_LOAD_MS; i++) {
      sent++;
      try {
        if (i % 2 === 0) {
          // Spread over the whole bitmap, so many chunks are written.
          const bit = ((w * 7919 + i) * 104_729) % BITMAP_BITS;
          await client.setbit('bm', bit, 1);
          ackedBits.push(bit);
        } else {
          const batch = Array.from({ length: 10 }, (_, k) => `w${w}:${i}:${k}`);
          await client.pfadd('hll', ...batch);
          ackedElems.push(...batch);
        }
        acks++;
        if (acks >= KILL_AFTER_ACKS && killing === null) killing = cluster.kill(first, 'SIGKILL');
      } catch (e) {
        if (errors.length < 20) errors.push((e as Error).message);
        await sleep(ERROR_BACKOFF_MS);
      }
    }
  };
  await Promise.all([0, 1, 2].map((w) => worker(w)));
  assert.ok(killing, `the load ended before ${KILL_AFTER_ACKS} acknowledgements (${acks}; errors: ${errors.join(' | ')})`);
  assert.deepEqual(await killing, { code: null, signal: 'SIGKILL' });
  const second = await cluster.waitPrimary(undefined, first);
  assert.notEqual(second, first);
  assert.ok(acks > KILL_AFTER_ACKS, `nothing acknowledged after the kill (errors: ${errors.join(' | ')})`);

  // Every acknowledged write is there, on the new primary (the bitmap read whole, once: a
  // read of a chunked string joins its chunks, so one GET costs what one GETBIT does).
  const value = await waitFor('GET of the bitmap', CONVERGE_TIMEOUT_MS, () => client.getBuffer('bm').catch(() => undefined));
  assert.ok(value !== null);
  const bits = ackedBits.map((bit) => (value[bit >> 3]! >> (7 - (bit & 7))) & 1);
  const missing = ackedBits.filter((_, i) => bits[i] !== 1);
  assert.equal(missing.length, 0, `${missing.length} of ${ackedBits.length} acknowledged bits are not set: ${missing.slice(0, 10).join(' ')}`);
  assert.equal(value.length, BITMAP_BITS / 8);
  for (let i = 0; i < ackedElems.length; i += 200) {
    assert.equal(await client.pfadd('hll', ...ackedElems.slice(i, i + 200)), 0, 'an acknowledged element was not counted');
  }
  const count = await client.pfcount('hll');
  assert.ok(count > ackedElems.length * 0.9 && count < ackedElems.length * 1.1 + 50, `PFCOUNT ${count} for ${ackedElems.length} elements`);
  t.diagnostic(`commands: ${sent} sent, ${acks} acknowledged (${ackedBits.length} bits, ${ackedElems.length} elements); PFCOUNT ${count}`);

  // The old primary rejoins; then every node holds the same bitmap and HLL, byte for byte.
  await cluster.rejoinAndConverge(first, second, () => client.set('after-rejoin', 'x'));
  const seen = new Map<string, string[]>();
  for (const spec of cluster.specs) {
    const r = new Redis({ host: spec.host, port: spec.redisPort, commandTimeout: 10_000, maxRetriesPerRequest: 3 });
    r.on('error', () => undefined);
    direct.push(r);
    const got = await waitFor(`the values on ${spec.id}`, CONVERGE_TIMEOUT_MS, async () => {
      try {
        return [sha(await r.getBuffer('bm')), sha(await r.getBuffer('hll')), String(await r.pfcount('hll')), String(await r.bitcount('bm'))];
      } catch (e) {
        t.diagnostic(`${spec.id}: ${(e as Error).message}`);
        return undefined;
      }
    });
    seen.set(spec.id, got);
  }
  const views = new Set([...seen.values()].map((v) => v.join(' ')));
  assert.equal(views.size, 1, `nodes differ: ${JSON.stringify([...seen])}`);
  assert.equal([...seen.values()][0]![2], String(count));
});
