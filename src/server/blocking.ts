// Clients blocked in BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP, as Redis
// 7.0 blocks them. The executor never blocks (src/core/kv/blocking-commands.ts): every attempt
// here is the command itself, or its one-key form for a key that got data, sent to the node like
// any other write. So a pop is an ordinary update of the primary, and the client hears of it only
// once it is committed on every secondary in dest; an attempt that finds nothing writes nothing.
//
// - Wake-ups: the node reports the lists and sorted sets its new updates put elements into (the
//   'written' event); each blocked client of such a key gets an attempt on that key. Nothing
//   polls.
// - Fairness: a key's clients are kept in arrival order and their attempts are submitted in that
//   order; the node executes requests in submission order, so the first blocked client gets the
//   first element, as in Redis. A client that finds nothing keeps its place.
// - One attempt per client at a time: keys that get data meanwhile are tried after it, in the
//   order they were written (a client blocked on several keys is served by the first that has
//   data).
// - A key that holds another type when its data arrives leaves the client blocked (Redis 7.0
//   serves only lists, or sorted sets, there); for BLMOVE a wrong-typed destination is answered
//   with WRONGTYPE, as Redis does, and the element stays where it was.
// - Timeouts run from the command's arrival; an attempt in flight when time runs out decides the
//   reply (an element it popped is delivered, never dropped).
// - A client that goes away while its pop waits for the commit: what the pop took is put back
//   (restoreCommands), since nobody will hear of it.
// - A secondary answers the first attempt with -READONLY, as a Redis replica does for a write.
//   On demotion the server closes every connection, blocked ones included.
import { err, type Reply } from '../core/reply.ts';
import { BLOCKING_TIMEOUT_REPLY, blockingDeadlineMs, parseBlockingTimeout } from '../core/kv/blocking-commands.ts';
import { parseI64 } from '../core/kv/numbers.ts';
import type { NodeEvents } from '../runtime/node-api.ts';
import type { Clock, Timer } from '../ports/clock.ts';

/**
 * What the registry needs of a client: its id (CLIENT UNBLOCK) and a way to run commands on the
 * node as that client (a RESP connection; the simulator's clients).
 */
export interface BlockingClient {
  readonly id: number;
  executeOnNode(cmds: Buffer[][], cb: (replies: Reply[]) => void): void;
}

/** Where written keys are announced: the node (its 'written' event), or the simulator's driver. */
export interface WrittenSource {
  on(event: 'written', listener: NodeEvents['written']): void;
  off(event: 'written', listener: NodeEvents['written']): void;
}

/** The commands that may block, by lower-case name. */
export const BLOCKING_COMMANDS: ReadonlySet<string> = new Set(['blpop', 'brpop', 'blmove', 'brpoplpush', 'blmpop', 'bzpopmin', 'bzpopmax', 'bzmpop']);

/** setTimeout's longest delay: longer timeouts are re-armed until their deadline. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const E_WRONGTYPE_PREFIX = 'WRONGTYPE ';
const ZERO = Buffer.from('0');
const ONE = Buffer.from('1');
const TYPE = Buffer.from('TYPE');

interface Blocked {
  readonly conn: BlockingClient;
  readonly name: string;
  readonly argv: readonly Buffer[];
  /** Distinct keys waited on, as latin1 ids, in the order the command names them. */
  readonly keys: readonly string[];
  readonly done: (r: Reply) => void;
  /** An attempt is at the node. */
  trying: boolean;
  /** Keys that got data while an attempt was in flight, to try next (insertion order). */
  readonly next: Map<string, Buffer>;
  /** Set once the client has waited through its first attempt (it may now time out). */
  waiting: boolean;
  /** Time ran out (or CLIENT UNBLOCK) while an attempt was in flight: its result decides. */
  ending: Reply | null;
  timer: Timer | null;
  finished: boolean;
  /** The client went away (its connection closed) while it waited. */
  dropped: boolean;
}

/** The keys a blocking command waits on (only used once the command itself was accepted). */
function keysOf(name: string, argv: readonly Buffer[]): Buffer[] {
  switch (name) {
    case 'blmove':
    case 'brpoplpush':
      return [argv[1]!];
    case 'blmpop':
    case 'bzmpop': {
      const n = parseI64(argv[2]!) ?? 0n;
      const count = n > BigInt(argv.length) ? argv.length : Number(n);
      return argv.slice(3, 3 + Math.max(0, count));
    }
    default:
      return argv.slice(1, -1);
  }
}

/** Where the timeout argument is. */
function timeoutArg(name: string, argv: readonly Buffer[]): Buffer {
  return name === 'blmpop' || name === 'bzmpop' ? argv[1]! : argv[argv.length - 1]!;
}

/**
 * The attempt for one key that got data: the command narrowed to that key, with timeout 0 (the
 * executor never blocks). BLMOVE and BRPOPLPUSH also read the source's type in the same atomic
 * batch, to tell a wrong-typed source (keep waiting) from a wrong-typed destination (answer).
 */
function wakeCommands(name: string, argv: readonly Buffer[], key: Buffer): Buffer[][] {
  switch (name) {
    case 'blmove':
      return [[TYPE, key], [argv[0]!, key, argv[2]!, argv[3]!, argv[4]!, ZERO]];
    case 'brpoplpush':
      return [[TYPE, key], [argv[0]!, key, argv[2]!, ZERO]];
    case 'blmpop':
    case 'bzmpop': {
      const n = Number(parseI64(argv[2]!) ?? 0n);
      return [[argv[0]!, ZERO, ONE, key, ...argv.slice(3 + n)]];
    }
    default:
      return [[argv[0]!, key, ZERO]];
  }
}

const isNil = (r: Reply): boolean => (r.t === 'array' && r.items === null) || (r.t === 'bulk' && r.b === null) || r.t === 'null';

export class BlockingRegistry {
  /** key id → clients blocked on it, in arrival order. */
  private readonly byKey = new Map<string, Blocked[]>();
  private readonly byConn = new Map<BlockingClient, Blocked>();
  private listening = false;
  private readonly onWritten = (keys: readonly Buffer[]): void => this.written(keys);

  /** `clock`: its wall time dates a command's arrival and its timers end the waits (Redis's timeouts are wall-clock). */
  constructor(
    private readonly node: WrittenSource,
    private readonly clock: Clock,
  ) {}

  /** Clients currently in a blocking command (INFO's blocked_clients). */
  get size(): number {
    return this.byConn.size;
  }

  isBlocking(name: string): boolean {
    return BLOCKING_COMMANDS.has(name);
  }

  /**
   * Runs a blocking command outside MULTI: it is registered on its keys before its first attempt
   * leaves, so data written while that attempt is at the node wakes it too.
   */
  start(conn: BlockingClient, name: string, argv: readonly Buffer[], done: (r: Reply) => void): void {
    const arrivedMs = this.clock.wallMs();
    const ids = new Map<string, Buffer>();
    for (const k of keysOf(name, argv)) ids.set(k.toString('latin1'), k);
    const b: Blocked = { conn, name, argv, keys: [...ids.keys()], done, trying: true, next: new Map(), waiting: false, ending: null, timer: null, finished: false, dropped: false };
    this.add(b);
    conn.executeOnNode([argv as Buffer[]], (replies) => {
      b.trying = false;
      const r = replies[0]!;
      if (b.finished) return this.restoreIfDropped(b, r);
      if (!isNil(r)) return this.finish(b, r);
      // Nothing there: block. The executor accepted the timeout, so this parses.
      const t = parseBlockingTimeout(timeoutArg(name, argv));
      const deadlineMs = typeof t === 'bigint' ? blockingDeadlineMs(t, arrivedMs) : null;
      b.waiting = true;
      if (deadlineMs !== null) this.arm(b, deadlineMs);
      this.tryNext(b);
    });
  }

  /** CLIENT UNBLOCK: ends a blocked client's wait as a timeout, or with Redis's UNBLOCKED error. 1 if it was blocked. */
  unblock(id: number, withError: boolean): number {
    for (const b of this.byConn.values()) {
      if (b.conn.id !== id || !b.waiting) continue;
      this.end(b, withError ? err('UNBLOCKED client unblocked via CLIENT UNBLOCK') : BLOCKING_TIMEOUT_REPLY);
      return 1;
    }
    return 0;
  }

  /** The connection closed: it waits no more (its attempt in flight, if any, still completes at the node). */
  drop(conn: BlockingClient): void {
    const b = this.byConn.get(conn);
    if (!b) return;
    b.dropped = true;
    this.remove(b);
  }

  /**
   * A pop that was at the node when its client went away took elements nobody will hear of: they
   * are put back where they were taken from (the head or tail of the list, the sorted set with
   * their scores unless the member is there again). A BLMOVE's element stays in its destination,
   * where a queue's owner looks for it, as with Redis.
   */
  private restoreIfDropped(b: Blocked, r: Reply): void {
    if (!b.dropped) return;
    const cmds = restoreCommands(b.name, b.argv, r);
    if (cmds.length > 0) b.conn.executeOnNode(cmds, () => undefined);
  }

  private add(b: Blocked): void {
    this.byConn.set(b.conn, b);
    for (const k of b.keys) {
      const q = this.byKey.get(k);
      if (q) q.push(b);
      else this.byKey.set(k, [b]);
    }
    if (!this.listening) {
      this.listening = true;
      this.node.on('written', this.onWritten);
    }
  }

  private remove(b: Blocked): void {
    b.finished = true;
    b.timer?.cancel();
    b.timer = null;
    this.byConn.delete(b.conn);
    for (const k of b.keys) {
      const q = this.byKey.get(k);
      if (!q) continue;
      const i = q.indexOf(b);
      if (i >= 0) q.splice(i, 1);
      if (q.length === 0) this.byKey.delete(k);
    }
    if (this.byConn.size === 0 && this.listening) {
      this.listening = false;
      this.node.off('written', this.onWritten);
    }
  }

  private finish(b: Blocked, r: Reply): void {
    if (b.finished) return;
    this.remove(b);
    b.done(r);
  }

  /** Time ran out or CLIENT UNBLOCK: answer now, or let the attempt in flight decide. */
  private end(b: Blocked, r: Reply): void {
    if (b.trying) b.ending = r;
    else this.finish(b, r);
  }

  private arm(b: Blocked, deadlineMs: number): void {
    const left = deadlineMs - this.clock.wallMs();
    if (left <= 0) return this.end(b, BLOCKING_TIMEOUT_REPLY);
    b.timer = this.clock.setTimer(Math.min(left, MAX_TIMER_MS), () => {
      b.timer = null;
      if (!b.finished) this.arm(b, deadlineMs);
    });
  }

  private written(keys: readonly Buffer[]): void {
    for (const key of keys) {
      const id = key.toString('latin1');
      const q = this.byKey.get(id);
      if (!q) continue;
      // Submitted in arrival order; a copy, since a completed attempt may change the queue.
      for (const b of [...q]) {
        if (b.finished) continue;
        if (!b.next.has(id)) b.next.set(id, key);
        if (!b.trying && b.waiting) this.tryNext(b);
      }
    }
  }

  /** Starts an attempt on the first key that got data since the last one, if any. */
  private tryNext(b: Blocked): void {
    if (b.finished) return;
    if (b.ending) return this.finish(b, b.ending);
    const first = b.next.entries().next();
    if (first.done) return;
    const [id, key] = first.value;
    b.next.delete(id);
    const cmds = wakeCommands(b.name, b.argv, key);
    b.trying = true;
    b.conn.executeOnNode(cmds, (replies) => {
      b.trying = false;
      const r = replies[replies.length - 1]!;
      if (b.finished) return this.restoreIfDropped(b, r);
      // WRONGTYPE from the key itself keeps the client waiting; BLMOVE's batch says whether the source was a list.
      const wrongSource = r.t === 'error' && r.msg.startsWith(E_WRONGTYPE_PREFIX) && !sourceWasList(replies);
      const served = !isNil(r) && !wrongSource;
      if (served) return this.finish(b, r);
      this.tryNext(b);
    });
  }
}

const bulkOf = (r: Reply | undefined): Buffer | null => (r && r.t === 'bulk' ? r.b : null);
const itemsOf = (r: Reply | undefined): readonly Reply[] => (r && r.t === 'array' && r.items ? r.items : []);
/** A score as ZADD reads it back exactly: JS's shortest round-trip form, or inf / -inf. */
const scoreText = (r: Reply | undefined): Buffer | null => {
  if (r?.t === 'double') return Buffer.from(Number.isFinite(r.d) ? String(r.d) : r.d > 0 ? 'inf' : '-inf');
  return bulkOf(r);
};

/** The writes that undo what the pop reply `r` of command `name` took (nothing for BLMOVE, errors and nils). */
function restoreCommands(name: string, argv: readonly Buffer[], r: Reply): Buffer[][] {
  const items = itemsOf(r);
  const key = bulkOf(items[0]);
  if (key === null) return [];
  const push = (left: boolean, values: Buffer[]): Buffer[][] => (values.length ? [[Buffer.from(left ? 'LPUSH' : 'RPUSH'), key, ...values.reverse()]] : []);
  const zadd = (pairs: Array<readonly [Buffer | null, Buffer | null]>): Buffer[][] => {
    const args = pairs.flatMap(([m, sc]) => (m && sc ? [sc, m] : []));
    return args.length ? [[Buffer.from('ZADD'), key, Buffer.from('NX'), ...args]] : [];
  };
  switch (name) {
    case 'blpop':
    case 'brpop': {
      const v = bulkOf(items[1]);
      return v ? push(name === 'blpop', [v]) : [];
    }
    case 'blmpop': {
      const n = Number(parseI64(argv[2]!) ?? 0n);
      const left = argv[3 + n]!.toString('latin1').toLowerCase() === 'left';
      return push(left, itemsOf(items[1]).flatMap((x) => bulkOf(x) ?? []));
    }
    case 'bzpopmin':
    case 'bzpopmax':
      return zadd([[bulkOf(items[1]), scoreText(items[2])]]);
    case 'bzmpop':
      return zadd(itemsOf(items[1]).map((p) => [bulkOf(itemsOf(p)[0]), scoreText(itemsOf(p)[1])] as const));
    default:
      return [];
  }
}

/** For BLMOVE/BRPOPLPUSH's batch (TYPE first): the source was a list, so a WRONGTYPE is the destination's. */
function sourceWasList(replies: readonly Reply[]): boolean {
  const t = replies.length === 2 ? replies[0]! : undefined;
  return t !== undefined && t.t === 'simple' && t.s === 'list';
}

/** CLIENT UNBLOCK's reply for the blocking registry (also validates as Redis 7.0 does). */
export function clientUnblock(registry: BlockingRegistry | undefined, argv: readonly Buffer[]): Reply {
  let withError = false;
  if (argv.length === 4) {
    const how = argv[3]!.toString('latin1').toLowerCase();
    if (how === 'error') withError = true;
    else if (how !== 'timeout') return err('ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR');
  }
  const id = parseI64(argv[2]!);
  if (id === null) return err('ERR value is not an integer or out of range');
  const n = registry && id <= BigInt(Number.MAX_SAFE_INTEGER) && id >= 0n ? registry.unblock(Number(id), withError) : 0;
  return { t: 'int', n };
}
