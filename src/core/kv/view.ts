// What the key-value executor reads: the storage area's StateReader (src/core/state-reader.ts),
// so that the executor runs on a storage area, the primary's pending state or a batch overlay.
import type { Entry } from '../types.ts';
import type { StateReader } from '../state-reader.ts';

export type KvView = StateReader;

/** True if the entry is present and not expired at `nowMs` (expireAtMs 0 = never expires). */
export function isLive(e: Entry | undefined, nowMs: number): e is Entry {
  return e !== undefined && (e.expireAtMs === 0 || e.expireAtMs > nowMs);
}
