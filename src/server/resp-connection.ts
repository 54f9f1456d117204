// One client connection of the RESP server: incremental parsing, pipelining
// with replies strictly in request order (data commands complete
// asynchronously; each gets a slot, and consecutive filled slots go out in
// one socket write), the connection state Redis keeps per client (protocol
// version, auth, name, MULTI queue, WATCHed keys, subscriptions) and the
// dispatch between connection-level commands and the node's executor.
import type { Socket } from 'node:net';
import { arr, err, type Reply } from '../core/reply.ts';
import { assert } from '../lib/assert.ts';
import type { Lsn } from '../core/types.ts';
import type { NodeHandle } from '../runtime/node-api.ts';
import { unknownCommandError } from '../core/kv/executor.ts';
import { CommandTable, type CommandSpec } from './resp-command-table.ts';
import { createRequestParser, encodeReply, encodePush } from './resp-codec.ts';
import type { RespParser } from '../resp/parser.ts';
import type { RespLimits } from './resp-limits.ts';
import { PubSubRegistry } from './pubsub.ts';
import type { TrackingState } from './tracking.ts';
import type { BlockingRegistry } from './blocking.ts';
import type { ClientPause } from './client-pause.ts';
import type { CommandStats } from './command-stats.ts';

/** How a command ended, for its statistics: refused before running, queued in MULTI, or run. */
/** How a command ended, and when it started to run (after any CLIENT PAUSE hold: waiting is not running). */
type Outcome = { kind: 'rejected' | 'queued' | 'ran'; startedNs: bigint };

export type Proto = 2 | 3;

/** What a command handler answers: one reply, a pub/sub push, or several of those in a row. */
export type Out =
  | Reply
  | { readonly t: 'push'; readonly items: readonly Reply[] }
  | { readonly t: 'seq'; readonly outs: readonly Out[] }
  /** EXEC's reply: an array header counting the commands, then each one's frames (a SUBSCRIBE of two channels writes two, as Redis does). */
  | { readonly t: 'exec'; readonly outs: readonly Out[] };

export type Done = (out: Out, opts?: { readonly close?: boolean }) => void;

/** A connection-level command: runs here rather than on the node. */
export type Handler = (conn: Connection, argv: readonly Buffer[], done: Done) => void;

/** What the server offers to each of its connections. */
export interface ServerContext {
  readonly mode: 'data' | 'sentinel';
  readonly node: NodeHandle;
  readonly limits: RespLimits;
  readonly requirePass: string | undefined;
  readonly table: CommandTable;
  readonly handlers: ReadonlyMap<string, Handler>;
  readonly stats: { commandsProcessed: number };
  /** INFO commandstats / errorstats counters (command-stats.ts). */
  readonly commandStats: CommandStats;
  /** Marks the WATCHed keys of every connection as modified (Redis's touchWatchedKey). */
  touchKeys(keys: readonly Buffer[] | 'all'): void;
  /** Whether any connection WATCHes a key (else writes skip the bookkeeping). */
  hasWatchers(): boolean;
  watchKey(conn: Connection, key: string): void;
  unwatchAll(conn: Connection): void;
  removeConnection(conn: Connection): void;
  /** Drops the connection's pub/sub subscriptions and client tracking (close, RESET). */
  dropSubscriptions(conn: Connection): void;
  /** Remembers the keys read by a tracking connection's commands, as they are sent to the node. */
  trackReads(conn: Connection, cmds: readonly Buffer[][]): void;
  /** Blocking pops (BLPOP…) outside MULTI wait here; absent on the sentinel port. */
  readonly blocking?: BlockingRegistry;
  /** CLIENT PAUSE's state: commands it holds wait in their connection until it ends. */
  readonly pause: ClientPause;
  /** A command starts to run (it was not refused): MONITOR shows it. */
  started(conn: Connection, argv: readonly Buffer[]): void;
  /** A command ran for this long: SLOWLOG and LATENCY see it (a transaction is timed as its EXEC). */
  ran(conn: Connection, argv: readonly Buffer[], durationUs: number): void;
  /** A batch of data commands is about to run on the node: notes the keys they access (OBJECT IDLETIME). */
  accessed(conn: Connection, cmds: readonly Buffer[][]): void;
  /** Rewrites what the node answers for the server (OBJECT IDLETIME) and maps its replies back. */
  forNode(cmds: Buffer[][]): { cmds: Buffer[][]; replies: (replies: Reply[]) => Reply[] } | null;
}

interface Slot {
  buf: Buffer | null;
  close: boolean;
  /** CLIENT REPLY OFF or SKIP was in force for this command: its reply is not sent. */
  silent?: boolean;
}

/** Above this many unanswered requests, stop reading from the socket until replies drain. */
export const MAX_PENDING_REPLIES = 4096;

/** After QUIT or a protocol error, how long the peer has to close its side before the socket is destroyed. */
export const CLOSE_LINGER_MS = 2000;

let nextClientId = 1;

/** Commands a client may send before AUTH when a password is configured. */
const NO_AUTH = new Set(['auth', 'hello', 'quit', 'reset']);
/** Commands allowed in RESP2 once the connection has subscriptions. */
const SUBSCRIBED_ALLOWED = new Set(['subscribe', 'psubscribe', 'ssubscribe', 'unsubscribe', 'punsubscribe', 'sunsubscribe', 'ping', 'quit', 'reset']);
/** Commands that act on the transaction itself and are never queued. */
const MULTI_CONTROL = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);
/** Commands refused inside MULTI: SENTINEL FAILOVER waits on the cluster. */
const NOT_IN_MULTI = new Set(['sentinel']);
/** Command flags that make a command part of what a CLIENT PAUSE WRITE holds (Redis's is_may_replicate_command). */
const MAY_WRITE_FLAGS = ['write', 'may_replicate'];
/** Command flags of commands that touch the keyspace, which a MONITOR client may not send (Redis: a replica's rule). */
const KEYSPACE_FLAGS = ['write', 'may_replicate', 'readonly'];

export function arityError(name: string): Reply {
  return err(`ERR wrong number of arguments for '${name}' command`);
}

export class Connection {
  readonly id = nextClientId++;
  readonly createdAtMs = Date.now();
  readonly addr: string;
  readonly laddr: string;
  lastActiveMs = Date.now();
  lastCmd = 'NULL';
  name = '';
  libName = '';
  libVer = '';
  proto: Proto = 2;
  authed: boolean;
  /** The lsn of this connection's last command on the node (WAIT waits for it). */
  lastLsn: Lsn = 0;
  multi: { queue: Buffer[][]; dirty: boolean } | null = null;
  readonly watched = new Set<string>();
  /** Set when a WATCHed key was written by anyone since WATCH: the next EXEC aborts. */
  watchDirty = false;
  readonly channels = new Set<string>();
  readonly patterns = new Set<string>();
  readonly shardChannels = new Set<string>();
  /** CLIENT TRACKING state (src/server/tracking.ts); null while off. */
  tracking: TrackingState | null = null;
  /** MONITOR: every command the server runs is streamed to this connection. */
  monitoring = false;
  /** CLIENT NO-EVICT: kept and shown; no client is ever evicted here (there is no maxmemory-clients). */
  noEvict = false;
  /** CLIENT NO-TOUCH: this client's commands leave keys' access times alone (TOUCH excepted). */
  noTouch = false;
  /** True while EXEC runs its queued connection-level commands (Redis: CLIENT_DENY_BLOCKING). */
  inExec = false;
  /** Commands held by CLIENT PAUSE (the first one paused and every one after it), in arrival order. */
  private pauseHeld: Array<{ name: string; argv: Buffer[]; done: Done; outcome: Outcome }> = [];
  /** CLIENT REPLY state (client-reply.ts): replies off, or the next command's reply skipped. */
  readonly reply = { off: false, skipNext: false, skipThis: false };
  /** Node commands sent and not yet answered, by sequence number (for WAIT's ordering). */
  private execSeq = 0;
  private readonly pendingExecs = new Set<number>();
  private settledWaiters: Array<{ upTo: number; fn: () => void }> = [];
  private readonly parser: RespParser;
  private readonly slots: Slot[] = [];
  private head = 0;
  private closing = false;
  private processing = false;
  private flushScheduled = false;
  private paused = false;
  private partialBytes = 0;
  /**
   * Commands received while a blocking command (BLPOP…) is unanswered: Redis processes nothing
   * more from a blocked client, so a pipelined LPUSH behind a BLPOP does not feed it.
   */
  private held: Buffer[][] | null = null;

  constructor(
    readonly socket: Socket,
    private readonly ctx: ServerContext,
  ) {
    this.addr = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.laddr = `${socket.localAddress ?? '?'}:${socket.localPort ?? 0}`;
    this.authed = ctx.requirePass === undefined;
    this.parser = createRequestParser(ctx.limits);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.updateFlow());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.closing = true;
      this.pauseHeld = [];
      ctx.pause.forget(this);
      ctx.unwatchAll(this);
      ctx.dropSubscriptions(this);
      ctx.removeConnection(this);
    });
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** In a blocking command (CLIENT LIST flag b). */
  get isBlocked(): boolean {
    return this.held !== null;
  }

  /** Whether CLIENT PAUSE holds commands of this connection. */
  get isHeld(): boolean {
    return this.pauseHeld.length > 0;
  }

  get pendingReplies(): number {
    return this.slots.length - this.head;
  }

  get queryBufferBytes(): number {
    return this.partialBytes;
  }

  /** Closes once every earlier reply, this command's included, is written (CLIENT KILL of itself). */
  closeAfterReplies(): void {
    if (this.closing) return;
    this.closing = true;
    this.slots.push({ buf: Buffer.alloc(0), close: true });
    this.flush();
  }

  /** Drops the connection at once (demotion of the node, server shutdown). */
  destroy(): void {
    this.closing = true;
    this.socket.destroy();
  }

  /** Delivers a pub/sub message after any replies already queued. */
  deliver(items: readonly Reply[]): void {
    this.deliverEncoded(encodePush(items, this.proto));
  }

  /** Delivers a message already encoded for this connection's protocol (one encoding per fan-out). */
  deliverEncoded(frame: Buffer): void {
    if (this.closing) return;
    this.slots.push({ buf: frame, close: false });
    this.scheduleFlush();
  }

  /** Sends a status line (a MONITOR feed) after any replies already queued. */
  deliverStatus(line: string): void {
    if (this.closing) return;
    this.slots.push({ buf: encodeReply({ t: 'simple', s: line }, this.proto), close: false });
    this.scheduleFlush();
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    this.processing = true;
    try {
      const { commands, error } = this.parser.feed(chunk);
      // Bounded by the commands in this chunk; stops early after QUIT or a CLIENT KILL of itself.
      for (const argv of commands) {
        if (this.closing) break;
        if (this.held) this.held.push(argv);
        else this.dispatch(argv);
      }
      // Bytes held for the command in progress: everything received since the last complete one
      // (the parser's own count leaves out arguments it has already cut out of the input).
      this.partialBytes = commands.length > 0 ? this.parser.pendingBytes : this.partialBytes + chunk.length;
      const pending = this.partialBytes;
      if (!error && !this.closing && pending > this.ctx.limits.maxQueryBufferBytes) {
        // Bounds the memory one client can hold with a command that never completes.
        this.fill(
          this.newSlot(),
          err(
            `ERR Protocol error: ${pending} bytes of an incomplete command exceed limits.maxQueryBufferBytes (${this.ctx.limits.maxQueryBufferBytes}); send smaller commands or raise the limit`,
          ),
          this.proto,
          true,
        );
      }
      if (error && !this.closing) {
        // Redis answers a malformed request with the protocol error and closes the connection;
        // the commands before it are still answered, in order.
        this.fill(this.newSlot(), err(error.toResp()), this.proto, true);
      }
    } finally {
      this.processing = false;
    }
    this.flush();
  }

  private newSlot(): Slot {
    const slot: Slot = { buf: null, close: false };
    this.slots.push(slot);
    return slot;
  }

  private fill(slot: Slot, out: Out, proto: Proto, close = false): void {
    assert(slot.buf === null, 'a reply slot is filled twice');
    slot.buf = encodeOut(out, proto);
    slot.close = close;
    if (close) {
      // Nothing after QUIT or a protocol error is read or answered.
      this.closing = true;
    }
    if (!this.processing) this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Writes every consecutive ready reply at the head in one socket write. */
  private flush(): void {
    const bufs: Buffer[] = [];
    let close = false;
    while (this.head < this.slots.length) {
      const s = this.slots[this.head]!;
      if (s.buf === null) break;
      if (!s.silent) bufs.push(s.buf);
      this.head++;
      if (s.close) {
        close = true;
        break;
      }
    }
    if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots.splice(0, this.head);
      this.head = 0;
    }
    if (bufs.length && !this.socket.destroyed) {
      this.socket.write(bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs));
    }
    if (close) {
      this.slots.length = 0;
      this.head = 0;
      // Keep reading (and ignoring) so the peer's FIN is seen; a peer that never closes is cut off.
      this.socket.resume();
      this.socket.end();
      setTimeout(() => this.socket.destroy(), CLOSE_LINGER_MS).unref();
      return;
    }
    this.updateFlow();
  }

  /** Backpressure: stop reading while replies pile up, here or in the socket. */
  private updateFlow(): void {
    if (this.closing) return;
    const busy = this.pendingReplies + (this.held?.length ?? 0) > MAX_PENDING_REPLIES || this.socket.writableNeedDrain;
    if (busy && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!busy && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private dispatch(argv: Buffer[]): void {
    const slot = this.newSlot();
    this.ctx.stats.commandsProcessed++;
    this.lastActiveMs = Date.now();
    const name = argv[0]!.toString('latin1').toLowerCase();
    // CLIENT LIST shows container commands with their subcommand, as Redis does ("client|list").
    this.lastCmd = argv.length > 1 && this.ctx.table.get(name)?.subcommands ? `${name}|${argv[1]!.toString('latin1').toLowerCase()}` : name;
    const protoAtDispatch = this.proto;
    // CLIENT CACHING yes|no applies to the command after it only.
    if (this.tracking && !(name === 'client' && this.lastCmd === 'client|caching')) {
      this.tracking.cachingNow = this.tracking.caching;
      this.tracking.caching = null;
    }
    const outcome: Outcome = { kind: 'ran', startedNs: process.hrtime.bigint() };
    this.run(
      name,
      argv,
      (out, opts) => {
        // HELLO and RESET answer in the protocol they switch to; everything else in the one it was sent in.
        const proto = name === 'hello' || name === 'reset' ? this.proto : protoAtDispatch;
        this.fill(slot, out, proto, opts?.close ?? false);
        this.count(argv, outcome, out, Number(process.hrtime.bigint() - outcome.startedNs) / 1000);
      },
      outcome,
    );
    // Decided once the command has run (CLIENT REPLY ON answers; OFF and SKIP do not): Redis's
    // CLIENT_REPLY_OFF / CLIENT_REPLY_SKIP flags, checked when the reply is added.
    if (this.reply.off || this.reply.skipThis) slot.silent = true;
    this.reply.skipThis = false;
    if (this.reply.skipNext) {
      this.reply.skipNext = false;
      this.reply.skipThis = true;
    }
  }

  /**
   * Redis's order of checks (processCommand): unknown command, arity, authentication, the
   * subscribed context, then MULTI queueing. Any refusal inside MULTI makes the EXEC abort.
   */
  private run(name: string, argv: Buffer[], done: Done, outcome: Outcome): void {
    // A held client runs nothing, not even a refusal, until its held commands have run (Redis
    // stops reading a postponed client).
    if (this.pauseHeld.length > 0) {
      this.pauseHeld.push({ name, argv, done, outcome });
      return;
    }
    const refuse = (r: Reply): void => {
      outcome.kind = 'rejected';
      if (name === 'exec' && r.t === 'error') {
        // Redis (execCommandAbort): a refused EXEC discards the transaction and says why.
        this.multi = null;
        this.unwatch();
        // Its formatted errors (arity) come without the "ERR " code there; shared ones (NOAUTH) keep theirs.
        return done(err(`EXECABORT Transaction discarded because of: ${r.msg.startsWith('ERR ') ? r.msg.slice(4) : r.msg}`));
      }
      if (this.multi) this.multi.dirty = true;
      done(r);
    };
    const spec = this.specFor(name);
    if (!spec) return refuse(unknownCommandError(argv));
    if (!CommandTable.arityOk(spec, argv.length)) return refuse(arityError(name));
    if (spec.subcommands && argv.length >= 2) {
      const sub = spec.subcommands.find((s) => s.name === `${name}|${argv[1]!.toString('latin1').toLowerCase()}`);
      if (sub && !CommandTable.arityOk(sub, argv.length)) return refuse(arityError(sub.name));
    }
    if (!this.authed && !NO_AUTH.has(name)) return refuse(err('NOAUTH Authentication required.'));
    if (this.proto === 2 && !SUBSCRIBED_ALLOWED.has(name) && PubSubRegistry.subscribed(this)) {
      // Redis names the subcommand ("pubsub|numsub"); an unknown one gets its own error from the handler.
      const sub = spec.subcommands && argv.length >= 2 ? spec.subcommands.find((s) => s.name === `${name}|${argv[1]!.toString('latin1').toLowerCase()}`) : undefined;
      if (!spec.subcommands || sub || argv.length < 2)
        return refuse(
          err(`ERR Can't execute '${sub?.name ?? name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`),
        );
    }
    if (this.monitoring && this.ctx.table.hasFlag(argv, ...KEYSPACE_FLAGS)) return refuse(err("ERR Replica can't interact with the keyspace"));
    // A MONITOR client is exempt from pauses, as Redis's replicas are.
    if (!this.monitoring && this.ctx.pause.current() !== null && this.ctx.pause.holds(this.mayWrite(name, argv))) {
      this.pauseHeld.push({ name, argv, done, outcome });
      this.ctx.pause.hold(this);
      return;
    }
    if (this.multi && !MULTI_CONTROL.has(name)) {
      const r = this.enqueue(name, argv);
      outcome.kind = r.t === 'error' ? 'rejected' : 'queued';
      return done(r);
    }
    if (name === 'exec' && this.multi && !this.multi.dirty && !this.watchDirty) {
      // MONITOR shows the commands an EXEC runs, in order, then the EXEC (Redis feeds each after it runs).
      for (const q of this.multi.queue) this.ctx.started(this, q);
    }
    this.ctx.started(this, argv);
    outcome.startedNs = process.hrtime.bigint();
    this.execOne(name, argv, (out, opts) => {
      this.ctx.ran(this, argv, Number((process.hrtime.bigint() - outcome.startedNs) / 1000n));
      done(out, opts);
    });
  }

  /** The pause is over: runs the held commands in order (a new pause may hold them again). */
  resumeHeld(): void {
    const held = this.pauseHeld;
    this.pauseHeld = [];
    for (const h of held) this.run(h.name, h.argv, h.done, h.outcome);
  }

  /** Redis's is_may_replicate_command: a write, or an EXEC whose queue holds one. */
  private mayWrite(name: string, argv: readonly Buffer[]): boolean {
    if (name === 'exec' && this.multi) return this.multi.queue.some((q) => this.ctx.table.hasFlag(q, ...MAY_WRITE_FLAGS));
    return this.ctx.table.hasFlag(argv, ...MAY_WRITE_FLAGS);
  }

  /** MULTI: validate now (errors abort the EXEC, as in Redis), run at EXEC. */
  private enqueue(name: string, argv: Buffer[]): Reply {
    const m = this.multi!;
    const fail = (r: Reply): Reply => {
      m.dirty = true;
      return r;
    };
    if (NOT_IN_MULTI.has(name)) return fail(err('ERR Command not allowed inside a transaction'));
    if (m.queue.length >= this.ctx.limits.maxQueuedCommands)
      return fail(
        err(
          `ERR too many commands queued in MULTI (limits.maxQueuedCommands = ${this.ctx.limits.maxQueuedCommands}); EXEC smaller transactions or raise the limit`,
        ),
      );
    m.queue.push(argv);
    return { t: 'simple', s: 'QUEUED' };
  }

  /**
   * The command's spec, or undefined if this port does not serve it: the sentinel port only its
   * handlers, the data port its handlers and the executor's commands.
   */
  private specFor(name: string): CommandSpec | undefined {
    const spec = this.ctx.table.get(name);
    if (!spec || this.ctx.handlers.has(name)) return spec;
    return this.ctx.mode === 'data' && this.ctx.table.dataNames.has(name) ? spec : undefined;
  }

  /**
   * The name a command's statistics go under, as Redis names it: a container's subcommand
   * ("client|list"); undefined for an unknown command or subcommand (only its error counts).
   */
  private statName(argv: readonly Buffer[]): string | undefined {
    const name = argv[0]!.toString('latin1').toLowerCase();
    const spec = this.ctx.table.get(name);
    if (!spec) return undefined;
    if (!spec.subcommands || argv.length < 2) return spec.name;
    return spec.subcommands.find((s) => s.name === `${name}|${argv[1]!.toString('latin1').toLowerCase()}`)?.name;
  }

  private count(argv: readonly Buffer[], outcome: Pick<Outcome, 'kind'>, out: Out, usec: number): void {
    if (outcome.kind === 'queued') return; // counted when EXEC runs it
    const stats = this.ctx.commandStats;
    const reply: Reply = isReply(out) ? out : { t: 'simple', s: '' };
    const name = this.statName(argv);
    if (outcome.kind === 'rejected' || name === undefined) stats.rejected(name, reply);
    else stats.called(name, usec, reply);
  }

  /** Runs one command now: connection-level here, data commands on the node. */
  execOne(name: string, argv: readonly Buffer[], done: Done): void {
    const handler = this.ctx.handlers.get(name);
    if (handler) {
      const spec = this.ctx.table.get(name);
      if (spec && !CommandTable.arityOk(spec, argv.length)) return done(arityError(name));
      if (spec?.subcommands && argv.length >= 2) {
        const subName = argv[1]!.toString('latin1').toLowerCase();
        const sub = spec.subcommands.find((s) => s.name === `${name}|${subName}`);
        if (sub && !CommandTable.arityOk(sub, argv.length)) return done(arityError(sub.name));
      }
      return handler(this, argv, done);
    }
    if (this.ctx.mode === 'sentinel') return done(unknownCommandError(argv));
    const blocking = this.ctx.blocking;
    if (blocking?.isBlocking(name)) {
      this.held = [];
      return blocking.start(this, name, argv, (out) => {
        done(out);
        this.release();
      });
    }
    this.executeOnNode([argv as Buffer[]], (replies) => done(replies[0]!));
  }

  /** A blocking command was answered: the commands held behind it run now, in order. */
  private release(): void {
    const held = this.held;
    this.held = null;
    if (!held || held.length === 0) return this.updateFlow();
    const wasProcessing = this.processing;
    this.processing = true;
    try {
      for (let i = 0; i < held.length; i++) {
        if (this.closing) break;
        // Set again by a blocking command among them: the rest waits behind it.
        const again = this.held as Buffer[][] | null;
        if (again) {
          for (let j = i; j < held.length; j++) again.push(held[j]!);
          break;
        }
        this.dispatch(held[i]!);
      }
    } finally {
      this.processing = wasProcessing;
    }
    if (!wasProcessing) this.flush();
  }

  /** Sends data commands to the node (one batch = one atomic update) and remembers the lsn for WAIT. */
  executeOnNode(cmds: Buffer[][], cb: (replies: Reply[]) => void): void {
    // WATCH bookkeeping costs nothing while nobody watches.
    if (this.ctx.hasWatchers()) this.touchWrittenKeys(cmds);
    if (this.tracking) this.ctx.trackReads(this, cmds);
    this.ctx.accessed(this, cmds);
    const seq = ++this.execSeq;
    this.pendingExecs.add(seq);
    const rewritten = this.ctx.forNode(cmds);
    this.ctx.node.execute(rewritten?.cmds ?? cmds, (nodeReplies) => {
      const replies = rewritten ? rewritten.replies(nodeReplies) : nodeReplies;
      assert(replies.length === cmds.length, () => `node answered ${replies.length} replies to ${cmds.length} commands`);
      this.lastLsn = Math.max(this.lastLsn, this.ctx.node.lastLsn());
      this.pendingExecs.delete(seq);
      cb(replies);
      this.runSettledWaiters();
    });
  }

  /**
   * Marks the keys these commands write for every WATCHer. Marked at dispatch: the node orders
   * commands as they are sent, so a WATCHer's later EXEC is ordered after this write whether or
   * not it has completed yet.
   */
  private touchWrittenKeys(cmds: readonly Buffer[][]): void {
    for (const argv of cmds) {
      const name = argv[0]!.toString('latin1').toLowerCase();
      const spec = this.ctx.table.get(name);
      // A script may write the keys it declares (what it does is known only when it runs).
      if (name === 'eval' || name === 'evalsha') {
        const n = Number(argv[2]?.toString('latin1'));
        if (Number.isSafeInteger(n) && n > 0 && n <= argv.length - 3) this.ctx.touchKeys(argv.slice(3, 3 + n));
        continue;
      }
      if (!spec?.write) continue;
      if (name === 'flushall' || name === 'flushdb') this.ctx.touchKeys('all');
      else this.ctx.touchKeys(CommandTable.keysOf(spec, argv));
    }
  }

  /**
   * Calls `fn` once every node command this connection sent so far has answered (WAIT needs the
   * lsn of the writes pipelined before it, which is known only when they complete).
   */
  afterPendingCommands(fn: () => void): void {
    const upTo = this.execSeq;
    if (!this.hasPendingUpTo(upTo)) return fn();
    this.settledWaiters.push({ upTo, fn });
  }

  private hasPendingUpTo(upTo: number): boolean {
    for (const s of this.pendingExecs) if (s <= upTo) return true;
    return false;
  }

  private runSettledWaiters(): void {
    if (this.settledWaiters.length === 0) return;
    const ready = this.settledWaiters.filter((w) => !this.hasPendingUpTo(w.upTo));
    if (ready.length === 0) return;
    this.settledWaiters = this.settledWaiters.filter((w) => this.hasPendingUpTo(w.upTo));
    for (const w of ready) w.fn();
  }

  watch(key: Buffer): void {
    this.ctx.watchKey(this, key.toString('latin1'));
  }

  unwatch(): void {
    this.ctx.unwatchAll(this);
  }

  beginMulti(): void {
    this.multi = { queue: [], dirty: false };
  }

  /** EXEC: data commands go to the node as one batch; connection-level ones run here, in order, after it. */
  exec(done: Done): void {
    const m = this.multi;
    assert(m !== null, 'exec without multi state');
    this.multi = null;
    const watchDirty = this.watchDirty;
    this.ctx.unwatchAll(this);
    if (m.dirty) return done(err('EXECABORT Transaction discarded because of previous errors.'));
    if (watchDirty) return done(this.proto === 3 ? { t: 'null' } : arr(null));
    const results: Out[] = new Array<Out>(m.queue.length);
    const data: number[] = [];
    const local: number[] = [];
    m.queue.forEach((argv, i) => (this.ctx.handlers.has(argv[0]!.toString('latin1').toLowerCase()) ? local : data).push(i));
    const runLocal = (): void => {
      // Iterative over the (bounded) queue; a handler that answers later resumes the loop from its callback.
      let k = 0;
      const step = (): void => {
        while (k < local.length) {
          const i = local[k++]!;
          const argv = m.queue[i]!;
          let sync = true;
          let answered = false;
          this.inExec = true;
          this.execOne(argv[0]!.toString('latin1').toLowerCase(), argv, (out) => {
            // Pub/sub confirmations and messages go out as their frames, in place (Redis's EXEC does so).
            results[i] = isReply(out) || out.t === 'push' || (out.t === 'seq' && out.outs.length > 0) ? out : err('ERR Command not allowed inside a transaction');
            answered = true;
            if (!sync) step();
          });
          sync = false;
          this.inExec = false;
          if (!answered) return;
        }
        // Each queued command ran within this EXEC (its time is EXEC's).
        m.queue.forEach((argv, i) => this.count(argv, { kind: 'ran' }, results[i]!, 0));
        done(results.every(isReply) ? arr(results) : { t: 'exec', outs: results });
      };
      step();
    };
    if (data.length === 0) return runLocal();
    this.executeOnNode(
      data.map((i) => m.queue[i]!),
      (replies) => {
        data.forEach((i, j) => (results[i] = replies[j]!));
        runLocal();
      },
    );
  }

  /** RESET and AUTH-less defaults: what a fresh connection has. */
  resetState(): void {
    this.multi = null;
    this.ctx.unwatchAll(this);
    this.ctx.dropSubscriptions(this);
    this.monitoring = false;
    this.noEvict = false;
    this.noTouch = false;
    this.proto = 2;
    this.name = '';
    this.reply.off = false;
    this.reply.skipNext = false;
    this.authed = this.ctx.requirePass === undefined;
  }
}

function isReply(out: Out): out is Reply {
  return out.t !== 'push' && out.t !== 'seq' && out.t !== 'exec';
}

function encodeOut(out: Out, proto: Proto): Buffer {
  if (out.t === 'push') return encodePush(out.items, proto);
  if (out.t === 'seq') return Buffer.concat(out.outs.map((o) => encodeOut(o, proto)));
  if (out.t === 'exec') return Buffer.concat([Buffer.from(`*${out.outs.length}\r\n`), ...out.outs.map((o) => encodeOut(o, proto))]);
  return encodeReply(out, proto);
}
