// A plain in-memory KvView for tests: a Map of latin1 key → header and elements, with ops
// applied directly. Deliberately simple (regionEntries and elements filter and sort on every
// call) so that it can serve as the reference the Overlay and the executor are checked against.
import { headerAfterSet, newCollection, orderKeyOf, stringAfterRange, stringEntry } from '../../src/core/collections.ts';
import type { Element, ElementRange, Entry, Op } from '../../src/core/types.ts';
import type { KvView } from '../../src/core/kv/view.ts';
import { regionOfKey } from '../../src/core/regions.ts';

interface Held {
  readonly key: Buffer;
  entry: Entry;
  readonly elems: Map<string, Element>;
}

export class MapView implements KvView {
  readonly map = new Map<string, Held>();

  get(key: Buffer): Entry | undefined {
    return this.map.get(key.toString('latin1'))?.entry;
  }

  getElement(key: Buffer, elem: Buffer): Buffer | undefined {
    return this.map.get(key.toString('latin1'))?.elems.get(elem.toString('latin1'))?.value;
  }

  elements(key: Buffer, range: ElementRange): Element[] {
    const held = this.map.get(key.toString('latin1'));
    if (!held || held.entry.type === 'string' || (range.by === 'score' && held.entry.type !== 'zset')) return [];
    const by = range.by ?? 'elem';
    const dir = range.reverse ? -1 : 1;
    return [...held.elems.values()]
      .map((el) => ({ el, order: orderKeyOf(by, el.elem, el.value) }))
      .filter(({ order }) => {
        if (range.start === undefined) return true;
        const c = Buffer.compare(order, range.start) * dir;
        return c > 0 || (c === 0 && !range.exclusive);
      })
      .sort((a, b) => dir * Buffer.compare(a.order, b.order))
      .slice(0, range.limit)
      .map(({ el }) => el);
  }

  size(): number {
    return this.map.size;
  }

  regionEntries(region: number, afterKey: Buffer | undefined, limit: number): Array<[Buffer, Entry]> {
    const all = [...this.map.values()]
      .filter(({ key }) => regionOfKey(key) === region && (afterKey === undefined || Buffer.compare(key, afterKey) > 0))
      .sort((a, b) => Buffer.compare(a.key, b.key));
    return all.slice(0, limit).map((h) => [h.key, h.entry]);
  }

  apply(ops: readonly Op[]): void {
    for (const op of ops) {
      if (op.k === 'flush') {
        this.map.clear();
        continue;
      }
      const id = op.key.toString('latin1');
      const held = this.map.get(id);
      switch (op.k) {
        case 'del':
          this.map.delete(id);
          break;
        case 'put':
          this.map.set(id, { key: op.key, entry: stringEntry(op.value, op.expireAtMs), elems: new Map() });
          break;
        case 'expire':
          if (held) held.entry = { ...held.entry, expireAtMs: op.expireAtMs };
          break;
        case 'range':
          this.map.set(id, { key: op.key, entry: stringAfterRange(held?.entry, op.offset, op.value), elems: new Map() });
          break;
        case 'elem': {
          let h = held;
          if (!h || h.entry.type !== op.type) {
            if (op.value === null) break;
            h = { key: op.key, entry: newCollection(op.type), elems: new Map() };
            this.map.set(id, h);
          }
          const eid = op.elem.toString('latin1');
          const had = h.elems.has(eid);
          if (op.value === null) {
            if (!had) break;
            h.elems.delete(eid);
            h.entry = { ...h.entry, count: h.entry.count - 1 };
            if (h.entry.count === 0) this.map.delete(id);
          } else {
            h.elems.set(eid, { elem: op.elem, value: op.value });
            h.entry = headerAfterSet(h.entry, op.type, !had, op.elem, op.value);
          }
          break;
        }
      }
    }
  }

  /** Sorted [key, value, expireAtMs] triples (a collection's value: its sorted elements), for comparing whole states. */
  dump(): Array<[string, string, number]> {
    return [...this.map.values()]
      .map((h): [string, string, number] => [
        h.key.toString('latin1'),
        h.entry.type === 'string'
          ? h.entry.value.toString('latin1')
          : `${h.entry.type}:` + JSON.stringify([...h.elems.values()].map((e) => [e.elem.toString('latin1'), e.value.toString('latin1')]).sort()),
        h.entry.expireAtMs,
      ])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}
