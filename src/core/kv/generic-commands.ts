// Keyspace commands that must know about every type: copying a value (RENAME, COPY and the
// *STORE commands share it), OBJECT, TOUCH and RANDOMKEY. The rest of the keyspace commands
// (DEL, EXISTS, EXPIRE…, SCAN) are type-blind and live in executor.ts.
import { encodingName, isIntegerMember } from '../collections.ts';
import { REGION_COUNT } from '../regions.ts';
import { arr, bulk, err, int, NIL } from '../reply.ts';
import type { Reply } from '../reply.ts';
import type { Entry } from '../types.ts';
import { allElements, del, is, live, put } from './context.ts';
import type { Ctx, Handler } from './context.ts';
import { isLive } from './view.ts';

/**
 * Writes the value `e` of key src to key dst, replacing what dst held: a string as one put, a
 * collection element by element (final values, as every op), then its expiry.
 */
export function copyValue(c: Ctx, src: Buffer, e: Entry, dst: Buffer): void {
  if (e.type === 'string') {
    put(c, dst, e.value, e.expireAtMs);
    return;
  }
  if (c.view.get(dst) !== undefined) del(c, dst);
  for (const el of allElements(c.view, src)) c.ops.push({ k: 'elem', key: dst, type: e.type, elem: el.elem, value: el.value });
  if (e.expireAtMs !== 0) c.ops.push({ k: 'expire', key: dst, expireAtMs: e.expireAtMs });
}

/** Redis shares the integers 0..9999 (OBJ_SHARED_INTEGERS): OBJECT REFCOUNT reports them as immortal. */
const SHARED_INTEGERS = 10000;
const SHARED_REFCOUNT = 2147483647;

const OBJECT_HELP = [
  'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'ENCODING <key>',
  '    Return the kind of internal representation used in order to store the value',
  '    associated with a <key>.',
  'FREQ <key>',
  '    Return the access frequency index of the <key>. The returned integer is',
  '    proportional to the logarithm of the recent access frequency of the key.',
  'IDLETIME <key>',
  '    Return the idle time of the <key>, that is the approximated number of',
  '    seconds elapsed since the last access to the key.',
  'REFCOUNT <key>',
  '    Return the number of references of the value associated with the specified',
  '    <key>.',
  'HELP',
  '    Print this help.',
];

const object: Handler = (c, a) => {
  const sub = a[1]!;
  if (a.length === 2 && is(sub, 'help')) return arr(OBJECT_HELP.map((l) => ({ t: 'simple', s: l })));
  const known = ['encoding', 'refcount', 'idletime', 'freq'].find((n) => is(sub, n));
  if (known === undefined && !is(sub, 'help')) {
    return err(`ERR unknown subcommand '${sub.toString('utf8', 0, 128)}'. Try OBJECT HELP.`);
  }
  if (known === undefined || a.length !== 3) return err(`ERR wrong number of arguments for 'object|${known ?? 'help'}' command`);
  const e = live(c, a[2]!);
  if (e === undefined) return NIL;
  switch (known) {
    case 'encoding':
      return bulk(encodingName(e));
    case 'refcount': {
      const shared = e.type === 'string' && isIntegerMember(e.value) && e.value[0] !== 0x2d && Number(e.value.toString('latin1')) < SHARED_INTEGERS;
      return int(shared ? SHARED_REFCOUNT : 1);
    }
    case 'freq':
      // No eviction policy runs here, so no LFU counters exist: Redis's answer without an LFU policy.
      return err(
        'ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.',
      );
    default:
      // Access times are not kept: every replica would have to agree on them.
      return err('ERR OBJECT IDLETIME is not supported: key access times are not tracked');
  }
};

const touch: Handler = (c, a) => {
  let n = 0;
  for (let i = 1; i < a.length; i++) if (live(c, a[i]!)) n++;
  return int(n);
};

/** Random probes RANDOMKEY makes before walking the keyspace for any live key. */
const RANDOMKEY_PROBES = 100;

/**
 * A random live key: a probe picks a region and a random point in its key order and takes
 * the first key from there (wrapping to the region's start), which reads one entry; when the
 * probes meet only expired keys, the first live key of a walk from a random region.
 */
const randomkey: Handler = (c): Reply => {
  if (c.view.size() === 0) return NIL;
  for (let i = 0; i < RANDOMKEY_PROBES; i++) {
    const region = Math.floor(c.random() * REGION_COUNT);
    const point = Buffer.from([0, 0, 0, 0].map(() => Math.floor(c.random() * 256)));
    const hit = c.view.regionEntries(region, point, 1)[0] ?? c.view.regionEntries(region, undefined, 1)[0];
    if (hit !== undefined && isLive(hit[1], c.nowMs)) return bulk(hit[0]);
  }
  const from = Math.floor(c.random() * REGION_COUNT);
  for (let i = 0; i < REGION_COUNT; i++) {
    const region = (from + i) % REGION_COUNT;
    let after: Buffer | undefined;
    for (;;) {
      const page = c.view.regionEntries(region, after, 256);
      for (const [k, e] of page) if (isLive(e, c.nowMs)) return bulk(k);
      if (page.length < 256) break;
      after = page[page.length - 1]![0];
    }
  }
  return NIL;
};

export const GENERIC_HANDLERS: ReadonlyArray<readonly [string, Handler]> = [
  ['object', object],
  ['touch', touch],
  ['randomkey', randomkey],
];
