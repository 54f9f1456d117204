// notify-keyspace-events: Redis's flag letters (notify.c, 7.0) as bits, and the
// class of each event name, so a node publishes exactly what its setting asks for.

export const NOTIFY_KEYSPACE = 1 << 0; // K
export const NOTIFY_KEYEVENT = 1 << 1; // E
export const NOTIFY_GENERIC = 1 << 2; // g
export const NOTIFY_STRING = 1 << 3; // $
export const NOTIFY_LIST = 1 << 4; // l
export const NOTIFY_SET = 1 << 5; // s
export const NOTIFY_HASH = 1 << 6; // h
export const NOTIFY_ZSET = 1 << 7; // z
export const NOTIFY_EXPIRED = 1 << 8; // x
export const NOTIFY_EVICTED = 1 << 9; // e
export const NOTIFY_STREAM = 1 << 10; // t
export const NOTIFY_KEY_MISS = 1 << 11; // m
export const NOTIFY_MODULE = 1 << 12; // d
export const NOTIFY_NEW = 1 << 13; // n
/** A: every class but key-miss and new-key, as in Redis. */
export const NOTIFY_ALL =
  NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | NOTIFY_ZSET | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE;

const LETTERS: ReadonlyArray<readonly [string, number]> = [
  ['g', NOTIFY_GENERIC],
  ['$', NOTIFY_STRING],
  ['l', NOTIFY_LIST],
  ['s', NOTIFY_SET],
  ['h', NOTIFY_HASH],
  ['z', NOTIFY_ZSET],
  ['x', NOTIFY_EXPIRED],
  ['e', NOTIFY_EVICTED],
  ['t', NOTIFY_STREAM],
  ['m', NOTIFY_KEY_MISS],
  ['d', NOTIFY_MODULE],
  ['n', NOTIFY_NEW],
  ['K', NOTIFY_KEYSPACE],
  ['E', NOTIFY_KEYEVENT],
];

/**
 * keyspaceEventsStringToFlags, or the error detail CONFIG SET reports. Key-miss (m) and new-key
 * (n) events are refused: reads do not report misses to the servers here, and telling a new key
 * from an overwritten one would cost every plain SET a read, so a node could not publish them.
 */
export function parseKeyspaceFlags(v: string): number | string {
  let flags = 0;
  for (const ch of v) {
    if (ch === 'A') flags |= NOTIFY_ALL;
    else if (ch === 'm' || ch === 'n')
      return `understudy does not publish ${ch === 'm' ? 'key-miss (m)' : 'new-key (n)'} events; leave that class out`;
    else {
      const l = LETTERS.find(([c]) => c === ch);
      if (!l) return "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
      flags |= l[1];
    }
  }
  return flags;
}

/** keyspaceEventsFlagsToString: Redis's canonical spelling (CONFIG GET). */
export function formatKeyspaceFlags(flags: number): string {
  let s = '';
  if ((flags & NOTIFY_ALL) === NOTIFY_ALL) s = 'A';
  else for (const [c, bit] of LETTERS) if (bit !== NOTIFY_KEYSPACE && bit !== NOTIFY_KEYEVENT && bit !== NOTIFY_KEY_MISS && flags & bit) s += c;
  if (flags & NOTIFY_KEYSPACE) s += 'K';
  if (flags & NOTIFY_KEYEVENT) s += 'E';
  if (flags & NOTIFY_KEY_MISS) s += 'm';
  return s;
}
