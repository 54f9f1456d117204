// Lists through a kill -9 of the primary: ioredis workers push to their own lists (RPUSH and
// LPUSH alternately, LINSERT now and then) while the primary's process is killed; afterwards
// every acknowledged element is in its list, in the order the worker was told it went there,
// nothing is there that no client sent, and the restarted node converges to an equal digest.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { ProcessCluster, sentinelClient, sleep } from './harness.ts';

const WORKERS = 3;
/** Bounded load: this many pushes or this long, whichever first. */
const MAX_PUSHES = 1500;
const MAX_LOAD_MS = 15_000;
const KILL_AFTER_ACKS = 400;
const ERROR_BACKOFF_MS = 20;

let cluster: ProcessCluster;
let redis: Redis | undefined;

before(async () => {
  cluster = await ProcessCluster.create({ nodes: 3 });
  await cluster.startAll();
});

after(async () => {
  redis?.disconnect();
  await cluster?.close();
});

interface Sent {
  readonly value: string;
  readonly side: 'left' | 'right';
  acked: boolean;
}

test('kill -9 of the primary while lists are pushed: every acknowledged element is there, in order', async (t) => {
  const first = await cluster.waitPrimary();
  redis = sentinelClient(cluster);
  const client = redis;
  await client.rpush('warmup', 'x');
  const sent: Sent[][] = Array.from({ length: WORKERS }, () => []);
  let acks = 0;
  let attempts = 0;
  let killing: Promise<unknown> | null = null;
  const errors: string[] = [];
  const started = Date.now();
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; attempts < MAX_PUSHES && Date.now() - started < MAX_LOAD_MS; i++) {
      attempts++;
      const s: Sent = { value: `${w}:${i}`, side: i % 3 === 0 ? 'left' : 'right', acked: false };
      sent[w]!.push(s);
      try {
        const n = s.side === 'left' ? await client.lpush(`list:${w}`, s.value) : await client.rpush(`list:${w}`, s.value);
        assert.equal(typeof n, 'number');
        s.acked = true;
        acks++;
        if (acks >= KILL_AFTER_ACKS && killing === null) killing = cluster.kill(first, 'SIGKILL');
      } catch (e) {
        if (errors.length < 20) errors.push((e as Error).message);
        await sleep(ERROR_BACKOFF_MS);
      }
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  assert.ok(killing, `the load ended before ${KILL_AFTER_ACKS} acknowledgements (${acks}; errors: ${errors.join(' | ')})`);
  assert.deepEqual(await killing, { code: null, signal: 'SIGKILL' });
  const second = await cluster.waitPrimary(undefined, first);
  assert.notEqual(second, first);
  assert.ok(acks > KILL_AFTER_ACKS, `no push acknowledged after the kill (errors: ${errors.join(' | ')})`);

  let lost = 0;
  for (let w = 0; w < WORKERS; w++) {
    const got = await client.lrange(`list:${w}`, 0, -1);
    assert.equal(await client.llen(`list:${w}`), got.length);
    const known = new Set(sent[w]!.map((s) => s.value));
    for (const v of got) assert.ok(known.has(v), `list:${w} holds ${v}, which no client sent`);
    // Left pushes read head→tail newest first, right pushes oldest first; an unacknowledged
    // push may have been applied (once, or again on a resend), so only acknowledged ones are required.
    const expectLeft = sent[w]!.filter((s) => s.side === 'left' && s.acked).map((s) => s.value).reverse();
    const expectRight = sent[w]!.filter((s) => s.side === 'right' && s.acked).map((s) => s.value);
    const isLeft = new Set(sent[w]!.filter((s) => s.side === 'left').map((s) => s.value));
    const firstRight = got.findIndex((v) => !isLeft.has(v));
    const head = firstRight < 0 ? got : got.slice(0, firstRight);
    const tail = firstRight < 0 ? [] : got.slice(firstRight);
    lost += missingFromSubsequence(expectLeft, head) + missingFromSubsequence(expectRight, tail);
  }
  assert.equal(lost, 0, `${lost} acknowledged elements missing or out of order`);
  t.diagnostic(`pushes: ${attempts} attempted, ${acks} acknowledged, 0 lost; ${errors.length} errors during the failover`);

  await cluster.rejoinAndConverge(first, second, () => client.rpush('after-rejoin', 'x'));
});

/** How many of `want` are not found, in order, within `have` (0: want is a subsequence of have). */
function missingFromSubsequence(want: readonly string[], have: readonly string[]): number {
  let j = 0;
  let found = 0;
  for (const v of want) {
    while (j < have.length && have[j] !== v) j++;
    if (j < have.length) {
      found++;
      j++;
    }
  }
  return want.length - found;
}
