// fast-check generators for the codec tests: every message kind with random
// contents, including empty buffers, binary keys, large values and integers
// up to the largest safe integer.
import fc from 'fast-check';
import { KEY_EVENT_NAMES } from '../../src/core/kv/key-events.ts';
import type { Message } from '../../src/core/messages.ts';
import type { CollectionType, EpochStart, Op, RegionItem, Update, UpdateKind } from '../../src/core/types.ts';

/** Plain-prototype records, so decoded values compare equal with deepStrictEqual. */
function rec<T extends object>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record<T>(model, { noNullPrototype: true });
}

/** Small integers most of the time (the common case), the extremes sometimes. */
export const safeNat = (): fc.Arbitrary<number> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.nat(300) },
    { weight: 2, arbitrary: fc.nat() },
    { weight: 1, arbitrary: fc.maxSafeNat() },
    { weight: 1, arbitrary: fc.constantFrom(0, 127, 128, 16383, 16384, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER) },
  );

/** A buffer of n deterministic pseudo-random bytes (cheap to generate when large). */
function filled(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    b[i] = s & 0xff;
  }
  return b;
}

export const bytes = (): fc.Arbitrary<Buffer> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant(Buffer.alloc(0)) },
    { weight: 10, arbitrary: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1000, max: 200_000 }), fc.integer()).map(([n, s]) => filled(n, s)) },
  );

export const nodeId = (): fc.Arbitrary<string> =>
  fc.oneof(
    fc.stringMatching(/^n[0-9]{1,3}$/),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
    fc.constant('x'.repeat(255)),
  );

const collectionType = (): fc.Arbitrary<CollectionType> => fc.constantFrom<CollectionType>('hash', 'list', 'set', 'zset');

export const op = (): fc.Arbitrary<Op> =>
  fc.oneof(
    rec({ k: fc.constant('put' as const), key: bytes(), value: bytes(), expireAtMs: safeNat() }),
    rec({ k: fc.constant('del' as const), key: bytes() }),
    fc.constant({ k: 'flush' as const }),
    rec({ k: fc.constant('expire' as const), key: bytes(), expireAtMs: safeNat() }),
    rec({ k: fc.constant('elem' as const), key: bytes(), type: collectionType(), elem: bytes(), value: fc.option(bytes(), { nil: null }) }),
    rec({ k: fc.constant('range' as const), key: bytes(), offset: safeNat(), value: bytes() }),
  );

export const update = (): fc.Arbitrary<Update> =>
  fc
    .tuple(
      rec({
        lsn: safeNat(),
        epoch: safeNat(),
        dest: fc.array(nodeId(), { maxLength: 5 }),
        kind: fc.constantFrom<UpdateKind>('data', 'config', 'epoch-start'),
        ops: fc.array(op(), { maxLength: 6 }),
        regions: fc.array(safeNat(), { maxLength: 8 }),
      }),
      fc.array(fc.tuple(fc.constantFrom(...KEY_EVENT_NAMES), fc.nat()), { maxLength: 4 }),
    )
    // Keyspace notifications name an op of their update; an update with none carries no list.
    .map(([u, events]) => {
      const keyed = u.ops.flatMap((o, i) => (o.k === 'flush' ? [] : [i]));
      const keyEvents = keyed.length === 0 ? [] : events.map(([event, i]) => ({ event, op: keyed[i % keyed.length]! }));
      return keyEvents.length === 0 ? u : { ...u, keyEvents };
    });

/** One item of a region's content: a header (a string's, or an empty collection's) or an element. */
export const regionItem = (): fc.Arbitrary<RegionItem> =>
  fc.oneof(
    rec({
      t: fc.constant('key' as const),
      key: bytes(),
      entry: rec({ type: fc.constant('string' as const), value: bytes(), expireAtMs: safeNat(), count: fc.constant(0), big: fc.constant(false) }),
    }),
    rec({
      t: fc.constant('key' as const),
      key: bytes(),
      entry: rec({ type: collectionType(), value: fc.constant(Buffer.alloc(0)), expireAtMs: safeNat(), count: fc.constant(0), big: fc.boolean() }),
    }),
    rec({ t: fc.constant('elem' as const), key: bytes(), elem: bytes(), value: bytes() }),
  );

export const epochStart = (): fc.Arbitrary<EpochStart> => rec({ epoch: safeNat(), startLsn: safeNat() });

const truncateAfter = (): fc.Arbitrary<number> => fc.oneof(fc.constant(-1), fc.nat(1000), fc.constant(Number.MAX_SAFE_INTEGER - 1));

/** One arbitrary per message kind, keyed by kind, so a test can assert every kind was covered. */
export const messageByKind = {
  append: rec({
    t: fc.constant('append' as const),
    epoch: safeNat(),
    prevLsn: safeNat(),
    prevEpoch: safeNat(),
    updates: fc.array(update(), { maxLength: 4 }),
    commitLsn: safeNat(),
    clear: rec({ clearLsn: safeNat() }),
    truncateAfter: truncateAfter(),
    round: safeNat(),
  }),
  ack: rec({
    t: fc.constant('ack' as const),
    epoch: safeNat(),
    ok: fc.boolean(),
    ackLsn: safeNat(),
    lastLsn: safeNat(),
    lastEpoch: safeNat(),
    storageDurableLsn: safeNat(),
    round: safeNat(),
    incarnation: safeNat(),
  }),
  'vote-req': rec({
    t: fc.constant('vote-req' as const),
    epoch: safeNat(),
    lastLsn: safeNat(),
    lastEpoch: safeNat(),
    transfer: fc.boolean(),
    pre: fc.boolean(),
  }),
  vote: rec({ t: fc.constant('vote' as const), epoch: safeNat(), granted: fc.boolean(), pre: fc.boolean() }),
  'sync-req': rec({ t: fc.constant('sync-req' as const), epoch: safeNat() }),
  'sync-state': rec({
    t: fc.constant('sync-state' as const),
    epoch: safeNat(),
    startLsn: safeNat(),
    lastLsn: safeNat(),
    history: fc.array(epochStart(), { maxLength: 6 }),
    incarnation: safeNat(),
  }),
  'pull-req': rec({ t: fc.constant('pull-req' as const), epoch: safeNat(), fromLsn: safeNat(), toLsn: safeNat() }),
  'pull-data': rec({
    t: fc.constant('pull-data' as const),
    epoch: safeNat(),
    updates: fc.array(update(), { maxLength: 4 }),
    done: fc.boolean(),
  }),
  'region-req': rec({
    t: fc.constant('region-req' as const),
    epoch: safeNat(),
    regions: fc.array(safeNat(), { maxLength: 10 }),
    atLsn: safeNat(),
    seq: safeNat(),
  }),
  'resync-start': rec({
    t: fc.constant('resync-start' as const),
    epoch: safeNat(),
    regions: fc.array(safeNat(), { maxLength: 10 }),
    afterLsn: safeNat(),
    afterEpoch: safeNat(),
  }),
  'region-data': rec({
    t: fc.constant('region-data' as const),
    epoch: safeNat(),
    region: safeNat(),
    asOfLsn: safeNat(),
    seq: safeNat(),
    afterKey: fc.option(bytes(), { nil: null }),
    afterElem: fc.option(bytes(), { nil: null }),
    first: fc.boolean(),
    last: fc.boolean(),
    items: fc.array(regionItem(), { maxLength: 6 }),
  }),
  'timeout-now': rec({ t: fc.constant('timeout-now' as const), epoch: safeNat() }),
  'catch-up': rec({
    t: fc.constant('catch-up' as const),
    epoch: safeNat(),
    prevLsn: safeNat(),
    prevEpoch: safeNat(),
    updates: fc.array(update(), { maxLength: 4 }),
  }),
  'recover-req': rec({ t: fc.constant('recover-req' as const), epoch: safeNat() }),
  'recover-state': rec({ t: fc.constant('recover-state' as const), epoch: safeNat(), lastLsn: safeNat(), lastEpoch: safeNat() }),
  publish: rec({ t: fc.constant('publish' as const), epoch: safeNat(), shard: fc.boolean(), channel: bytes(), message: bytes() }),
} satisfies { [T in Message['t']]: fc.Arbitrary<Extract<Message, { t: T }>> };

export const message = (): fc.Arbitrary<Message> => fc.oneof(...Object.values(messageByKind));
