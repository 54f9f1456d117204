// A reply to a client command, independent of the wire (RESP2 / RESP3 writers
// in src/resp encode it). Produced by the pure command executor in src/core/kv.

export type Reply =
  | { readonly t: 'simple'; readonly s: string }
  | { readonly t: 'error'; readonly msg: string } // full text after '-', e.g. "ERR syntax error"
  | { readonly t: 'int'; readonly n: number | bigint }
  | { readonly t: 'bulk'; readonly b: Buffer | null } // null = nil
  | { readonly t: 'array'; readonly items: readonly Reply[] | null } // null = nil array
  | { readonly t: 'double'; readonly d: number } // RESP3 double; RESP2 writes it as bulk
  | { readonly t: 'map'; readonly entries: ReadonlyArray<readonly [Reply, Reply]> } // RESP3 map; RESP2 flat array
  | { readonly t: 'set'; readonly items: readonly Reply[] } // RESP3 set; RESP2 array
  | { readonly t: 'pairs'; readonly items: ReadonlyArray<readonly [Reply, Reply]> } // RESP3 array of 2-arrays (HRANDFIELD WITHVALUES, ZRANGE WITHSCORES); RESP2 flat array
  | { readonly t: 'null' } // RESP3 null; RESP2 nil bulk
  | { readonly t: 'verbatim'; readonly format: string; readonly s: string }; // RESP3 '='; RESP2 bulk

export const OK: Reply = { t: 'simple', s: 'OK' };
export const NIL: Reply = { t: 'bulk', b: null };
export function err(msg: string): Reply {
  return { t: 'error', msg };
}
export function int(n: number | bigint): Reply {
  return { t: 'int', n };
}
export function bulk(b: Buffer | string | null): Reply {
  return { t: 'bulk', b: typeof b === 'string' ? Buffer.from(b) : b };
}
export function arr(items: readonly Reply[] | null): Reply {
  return { t: 'array', items };
}
