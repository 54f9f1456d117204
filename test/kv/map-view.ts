// A plain in-memory KvView for tests: a Map of latin1 key → entry, with ops applied directly.
// Deliberately simple (regionEntries filters and sorts on every call) so that it can serve as
// the reference the Overlay and the executor are checked against.
import type { Entry, Op } from '../../src/core/types.ts';
import type { KvView } from '../../src/core/kv/view.ts';
import { regionOfKey } from '../../src/core/regions.ts';

export class MapView implements KvView {
  readonly map = new Map<string, [Buffer, Entry]>();

  get(key: Buffer): Entry | undefined {
    return this.map.get(key.toString('latin1'))?.[1];
  }

  size(): number {
    return this.map.size;
  }

  regionEntries(region: number, afterKey: Buffer | undefined, limit: number): Array<[Buffer, Entry]> {
    const all = [...this.map.values()]
      .filter(([k]) => regionOfKey(k) === region && (afterKey === undefined || Buffer.compare(k, afterKey) > 0))
      .sort((a, b) => Buffer.compare(a[0], b[0]));
    return all.slice(0, limit);
  }

  apply(ops: readonly Op[]): void {
    for (const op of ops) {
      if (op.k === 'flush') this.map.clear();
      else if (op.k === 'del') this.map.delete(op.key.toString('latin1'));
      else this.map.set(op.key.toString('latin1'), [op.key, { value: op.value, expireAtMs: op.expireAtMs }]);
    }
  }

  /** Sorted [key, value, expireAtMs] triples, for comparing whole states. */
  dump(): Array<[string, string, number]> {
    return [...this.map.values()]
      .map(([k, e]): [string, string, number] => [k.toString('latin1'), e.value.toString('latin1'), e.expireAtMs])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}
