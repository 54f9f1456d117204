// What every command handler works with: the view it reads (storage, pending state or a
// batch overlay), the time, the ops it emits, and the helpers shared by the per-type command
// files (string commands in executor.ts, hash-commands.ts, set-commands.ts, …): typed
// lookups with Redis's WRONGTYPE error, element ops, and whole-collection reads in pages.
import { orderKeyOf } from '../collections.ts';
import { err } from '../reply.ts';
import type { Reply } from '../reply.ts';
import type { CollectionType, Element, ElementRange, Entry, KeyEvent, Op, ValueType } from '../types.ts';
import { isLive } from './view.ts';
import type { KvView } from './view.ts';
import type { ScriptSupport } from './script-commands.ts';

export interface Ctx {
  readonly view: KvView;
  readonly nowMs: number;
  readonly maxValueBytes: number;
  readonly ops: Op[];
  /** Uniform in [0, 1): SPOP, SRANDMEMBER, HRANDFIELD, RANDOMKEY. Drawn on the primary only; the ops carry the outcome. */
  readonly random: () => number;
  /** Keys this command already emptied of a stale (expired) value before writing elements. */
  readonly fresh: Set<string>;
  /** The Lua engine and the node's role, for EVAL and SCRIPT (script-commands.ts). */
  readonly script?: ScriptSupport;
  /** Keyspace events of the commands a script ran (their op indexes count in this command's ops). */
  readonly events?: KeyEvent[];
}

export type Handler = (c: Ctx, a: readonly Buffer[]) => Reply;

export const E_WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';
export const WRONGTYPE: Reply = err(E_WRONGTYPE);
export const E_NOT_INT = 'ERR value is not an integer or out of range';
export const E_NOT_FLOAT = 'ERR value is not a valid float';
export const E_SYNTAX = 'ERR syntax error';
/** Elements read per storage call when a command needs a whole collection (HGETALL, SMEMBERS…). */
export const ELEMENT_PAGE = 512;

/** Marks a key holding another type than the command works on. */
export const WRONG: unique symbol = Symbol('wrong type');
export type Typed = Entry | undefined | typeof WRONG;

export function live(c: Ctx, key: Buffer): Entry | undefined {
  const e = c.view.get(key);
  return isLive(e, c.nowMs) ? e : undefined;
}

/** The live entry at key if it holds `type`, undefined if there is none, WRONG if it holds another type. */
export function typed(c: Ctx, key: Buffer, type: ValueType): Typed {
  const e = live(c, key);
  if (e === undefined) return undefined;
  return e.type === type ? e : WRONG;
}

export function put(c: Ctx, key: Buffer, value: Buffer, expireAtMs: number): void {
  c.ops.push({ k: 'put', key, value, expireAtMs });
}

export function del(c: Ctx, key: Buffer): void {
  c.ops.push({ k: 'del', key });
}

/**
 * Sets element `elem` of the collection at key. When the command found no live collection
 * there (`found` undefined) but storage still holds an expired value, that value is deleted
 * first, once per command: the new collection must not inherit its elements.
 */
export function setElem(c: Ctx, key: Buffer, type: CollectionType, found: Entry | undefined, elem: Buffer, value: Buffer): void {
  if (found === undefined) dropStale(c, key);
  c.ops.push({ k: 'elem', key, type, elem, value });
}

/** Removes element `elem` of the live collection at key (its last removal removes the key). */
export function delElem(c: Ctx, key: Buffer, type: CollectionType, elem: Buffer): void {
  c.ops.push({ k: 'elem', key, type, elem, value: null });
}

/**
 * HDEL / SREM / ZREM: removes each named element the collection at key holds (a name given
 * twice counts once); returns how many went. The last removal removes the key.
 */
export function removeNamed(c: Ctx, key: Buffer, type: CollectionType, names: readonly Buffer[]): number {
  const gone = new Set<string>();
  for (const n of names) {
    const id = n.toString('latin1');
    if (gone.has(id) || c.view.getElement(key, n) === undefined) continue;
    gone.add(id);
    delElem(c, key, type, n);
  }
  return gone.size;
}

/** Deletes an expired value still stored at key (once per command), before a new one is built there. */
export function dropStale(c: Ctx, key: Buffer): void {
  const id = key.toString('latin1');
  if (c.fresh.has(id)) return;
  c.fresh.add(id);
  if (c.view.get(key) !== undefined && live(c, key) === undefined) del(c, key);
}

/** Every element of the collection at key, read in pages (for commands whose reply is the whole collection). */
export function allElements(view: KvView, key: Buffer, by: ElementRange['by'] = 'elem'): Element[] {
  const out: Element[] = [];
  let start: Buffer | undefined;
  for (;;) {
    const page = view.elements(key, start === undefined ? { by, limit: ELEMENT_PAGE } : { by, start, exclusive: true, limit: ELEMENT_PAGE });
    for (const el of page) out.push(el);
    if (page.length < ELEMENT_PAGE) return out;
    const last = page[page.length - 1]!;
    start = orderKeyOf(by, last.elem, last.value);
  }
}

/** Case-insensitive ASCII comparison of an argument with a lower-case option name. */
export function is(b: Buffer, lower: string): boolean {
  if (b.length !== lower.length) return false;
  for (let i = 0; i < b.length; i++) {
    let ch = b[i]!;
    if (ch >= 0x41 && ch <= 0x5a) ch += 32;
    if (ch !== lower.charCodeAt(i)) return false;
  }
  return true;
}
