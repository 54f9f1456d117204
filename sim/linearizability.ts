// Per-key linearizability checker (invariant 2: reads and writes at the
// primary are linearizable).
//
// Linearizability is compositional (Herlihy & Wing), so the history is split
// by key and every key is checked on its own: the cost grows with the
// concurrency on one key, not with the whole history. Each key is searched
// with Wing & Gong's algorithm as improved by Lowe and implemented in
// Porcupine: operations sit in a doubly linked list of call / return events
// ordered by time; the search repeatedly "linearizes" a call that is still
// open (removes it and its return from the list) when the model accepts its
// result, and backtracks when it meets a return whose call has not been
// linearized. The memo of (set of linearized ops, model state) pairs already
// explored is what makes the search practical: two orders of the same ops
// that end in the same state have the same future.
//
// Pure and deterministic (no clock of its own): a time budget works only
// through a clock the caller passes in.

import { assert } from '../src/lib/assert.ts';
import type { HistoryOp, OpCall, OpResult } from './history.ts';
import { describeCall, describeOp } from './history.ts';

export interface CheckOptions {
  /** Search steps allowed per key before that key is reported unknown. */
  readonly maxStepsPerKey?: number;
  /** A clock (ms) for the time budget; without one only steps bound the work. */
  readonly clock?: () => number;
  /** Wall-clock budget for the whole check, read through `clock`. */
  readonly maxTimeMs?: number;
  /** Most operations printed in a failure's timeline (the latest ones are kept). */
  readonly maxShownOps?: number;
  /**
   * Which calls the search tries first at each point. `time`: in invocation
   * order, as Porcupine (finds a linearization fast). `unknown-last`: ops with a
   * known result before those of unknown outcome (rules out orders faster when
   * there is none). `auto` (default): `time` for half the step budget, then
   * `unknown-last` for the rest. Every order gives the same verdict when the
   * budget suffices.
   */
  readonly searchOrder?: SearchOrder;
}

export type SearchOrder = 'auto' | 'time' | 'unknown-last';

export type CheckResult =
  | { readonly ok: true; readonly steps: number }
  | {
      readonly ok: false;
      readonly key: string;
      /** A readable timeline of the smallest failing prefix found. */
      readonly explanation: string;
      /** The operations of that prefix (pending ones turned into `info`). */
      readonly ops: readonly HistoryOp[];
      /** The operation whose completion is the first that cannot be explained. */
      readonly culprit: HistoryOp;
      readonly steps: number;
    }
  | { readonly ok: 'unknown'; readonly keys: readonly string[]; readonly reason: string; readonly steps: number };

/**
 * Each step may add one memo entry of about a hundred bytes for a few hundred
 * ops on a key, so this bounds memory to roughly 100 MB per key as well.
 */
export const DEFAULT_MAX_STEPS_PER_KEY = 1_000_000;
const DEFAULT_MAX_SHOWN_OPS = 40;
/** How often (in steps) the optional clock is read: reading it is not free. */
const CLOCK_EVERY_STEPS = 4096;
/** Bound on the re-checks spent shrinking a failure for display. */
const MAX_SHRINK_TRIALS = 200;

/** The value of one key: a string, or null when the key is missing. */
type State = string | null;

/** One operation as the search sees it. `known` = its result must be matched. */
interface SearchOp {
  readonly src: HistoryOp;
  readonly call: OpCall;
  readonly known: boolean;
  readonly result: OpResult;
  readonly invoke: number;
  readonly complete: number;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Redis's strict integer syntax: no spaces, no '+', no leading zeros, no "-0". */
function parseRedisInt(s: string): bigint | undefined {
  if (s.length > 20 || !/^(0|-?[1-9][0-9]*)$/.test(s)) return undefined;
  const n = BigInt(s);
  return n < INT64_MIN || n > INT64_MAX ? undefined : n;
}

/** Length in bytes of the UTF-8 encoding: APPEND returns bytes, not UTF-16 units. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * The sequential specification. Returns the next state, or undefined when the
 * operation cannot have returned what it returned from this state. An op with
 * an unknown outcome that would have failed here (INCR of a non-integer) simply
 * had no effect.
 */
function step(state: State, op: SearchOp): State | undefined {
  const c = op.call;
  switch (c.kind) {
    case 'read':
      return !op.known || op.result === state ? state : undefined;
    case 'write':
      return c.value;
    case 'delete':
      if (op.known && op.result !== null && op.result !== (state === null ? 0 : 1)) return undefined;
      return null;
    case 'incr': {
      const cur = state === null ? 0n : parseRedisInt(state);
      const next = cur === undefined ? undefined : cur + BigInt(c.by);
      if (next === undefined || next < INT64_MIN || next > INT64_MAX) return op.known ? undefined : state;
      if (op.known && (typeof op.result !== 'number' || BigInt(op.result) !== next)) return undefined;
      return next.toString();
    }
    case 'append': {
      const next = (state ?? '') + c.suffix;
      return op.known && op.result !== utf8Length(next) ? undefined : next;
    }
    case 'cas': {
      const hit = state === c.expect;
      if (op.known && op.result !== (hit ? 1 : 0)) return undefined;
      return hit ? c.value : state;
    }
  }
}

/**
 * The memo key of a configuration: the bitset packed two 16-bit halves per
 * word (compact, so a memo of millions of entries stays affordable), then the
 * state. The bitset has a fixed length per key, so the split is unambiguous.
 */
function memoKey(bits: Uint32Array, s: State): string {
  let k = '';
  for (let i = 0; i < bits.length; i++) {
    const w = bits[i]!;
    k += String.fromCharCode(w & 0xffff, w >>> 16);
  }
  return s === null ? k + 'N' : k + 'S' + s;
}

type Verdict = 'ok' | 'fail' | 'unknown';

interface Budget {
  readonly maxSteps: number;
  /** True once the caller's time budget is spent. */
  readonly outOfTime: () => boolean;
}

/**
 * The Wing & Gong / Lowe search over one key's operations. `steps` counts
 * loop iterations.
 *
 * Operations of unknown outcome differ from Porcupine's: such an op has no
 * return event, so nothing ever forces it; it may take effect at any instant
 * after its invocation, or never. Since it is never required, a configuration
 * that has used a subset of the unknown ops another one used (same known ops
 * placed, same state) can do everything the other can: the memo keeps, per
 * (known ops placed, state), only the sets of unknown ops used that are not
 * supersets of one already explored, and prunes any configuration dominated
 * by one of them. With `unknownLast`, each point first tries the known ops and
 * only then the unknown ones.
 */
function search(ops: readonly SearchOp[], budget: Budget, unknownLast: boolean): { verdict: Verdict; steps: number } {
  if (ops.some((r) => unproducible(r, ops))) return { verdict: 'fail', steps: 1 };
  const n = ops.length;
  // Events 0..n-1 are calls, n..2n-1 the returns of known ops; 2n is the head
  // sentinel and 2n+1 the tail sentinel, so the list needs no null checks.
  const HEAD = 2 * n;
  const TAIL = 2 * n + 1;
  // Each op's bit: known ops and unknown ones are numbered separately.
  const bitOf = new Int32Array(n);
  let nKnown = 0;
  let nUnknown = 0;
  const order: number[] = [];
  for (let i = 0; i < n; i++) {
    order.push(i);
    if (ops[i]!.known) {
      bitOf[i] = nKnown++;
      order.push(i + n);
    } else bitOf[i] = nUnknown++;
  }
  const timeOf = (e: number): number => (e < n ? ops[e]!.invoke : ops[e - n]!.complete);
  // At equal times calls come first: an op completing at t and one invoked at
  // t are concurrent, so neither is forced before the other.
  order.sort((a, b) => timeOf(a) - timeOf(b) || Number(a >= n) - Number(b >= n) || a - b);
  const next = new Int32Array(2 * n + 2);
  const prev = new Int32Array(2 * n + 2);
  let last = HEAD;
  for (const e of order) {
    next[last] = e;
    prev[e] = last;
    last = e;
  }
  next[last] = TAIL;
  prev[TAIL] = last;

  const unlink = (e: number): void => {
    next[prev[e]!] = next[e]!;
    prev[next[e]!] = prev[e]!;
  };
  const relink = (e: number): void => {
    next[prev[e]!] = e;
    prev[next[e]!] = e;
  };
  const lift = (call: number): void => {
    unlink(call);
    if (ops[call]!.known) unlink(call + n);
  };
  // Undo in the reverse order of lift (dancing links): the return, then the call.
  const unlift = (call: number): void => {
    if (ops[call]!.known) relink(call + n);
    relink(call);
  };

  const knownBits = new Uint32Array(Math.ceil(nKnown / 32));
  const unknownBits = new Uint32Array(Math.ceil(nUnknown / 32));
  const bitsFor = (op: number): Uint32Array => (ops[op]!.known ? knownBits : unknownBits);
  const memo = new Map<string, Uint32Array[]>();
  /** Records the current configuration; false if one that dominates it was seen. */
  // Configurations reached by placing an unknown op (`restricted`, see below)
  // have fewer moves, so an unrestricted one dominates them too.
  const remember = (key: string, restricted: boolean): boolean => {
    const free = memo.get(key + 'F');
    if (free !== undefined && free.some((s) => isSubset(s, unknownBits))) return false;
    const own = restricted ? memo.get(key + 'R') : free;
    if (own === undefined) {
      memo.set(key + (restricted ? 'R' : 'F'), [unknownBits.slice()]);
      return true;
    }
    if (restricted && own.some((s) => isSubset(s, unknownBits))) return false;
    // Drop the sets this one dominates: they can no longer prune anything new.
    const kept = own.filter((s) => !isSubset(unknownBits, s));
    kept.push(unknownBits.slice());
    memo.set(key + (restricted ? 'R' : 'F'), kept);
    return true;
  };

  const stackCall: number[] = [];
  const stackState: State[] = [];
  let state: State = null;
  // Unknown ops can always be left out, so the search succeeds as soon as
  // every op with a known result is placed.
  let remainingKnown = nKnown;
  // After an unknown op is placed, the next op placed must be one that
  // depends on the state: not blind (a SET, or a DEL of unknown count or
  // outcome). Any linearization can be put in that form: an unknown op
  // followed by a blind op, or by nothing, can be left out without changing
  // any result. This stops unknown ops being tried at every point where
  // nothing would notice them.
  let restricted = false;

  let steps = 0;
  let entry = next[HEAD]!;
  // Which ops the scan is trying: with `unknownLast`, a first pass tries only
  // the known ops and a second one only the unknown ops.
  let tryingKnown = true;
  for (;;) {
    if (remainingKnown === 0) return { verdict: 'ok', steps };
    steps++;
    if (steps > budget.maxSteps) return { verdict: 'unknown', steps };
    if (steps % CLOCK_EVERY_STEPS === 0 && budget.outOfTime()) return { verdict: 'unknown', steps };
    assert(entry !== TAIL, 'search ran past the last return with known ops left');
    if (entry >= n) {
      // The first return still in the list, so no op invoked after it can
      // come next, and every op that could has been tried: undo the latest choice.
      if (unknownLast && tryingKnown) {
        tryingKnown = false;
        entry = next[HEAD]!;
        continue;
      }
      const call = stackCall.pop();
      if (call === undefined) return { verdict: 'fail', steps };
      state = stackState.pop()!;
      bitsFor(call)[bitOf[call]! >>> 5]! &= ~(1 << (bitOf[call]! & 31));
      unlift(call);
      if (ops[call]!.known) remainingKnown++;
      const below = stackCall[stackCall.length - 1];
      restricted = below !== undefined && !ops[below]!.known;
      tryingKnown = ops[call]!.known;
      entry = next[call]!;
      continue;
    }
    const op = ops[entry]!;
    if ((unknownLast && op.known !== tryingKnown) || (restricted && isBlind(op))) {
      entry = next[entry]!;
      continue;
    }
    const ns = step(state, op);
    if (ns !== undefined) {
      const bits = bitsFor(entry);
      const w = bitOf[entry]! >>> 5;
      const mask = 1 << (bitOf[entry]! & 31);
      bits[w]! |= mask;
      if (remember(memoKey(knownBits, ns), !op.known)) {
        stackCall.push(entry);
        stackState.push(state);
        state = ns;
        lift(entry);
        if (op.known) remainingKnown--;
        entry = next[HEAD]!;
        tryingKnown = true;
        restricted = !op.known;
        continue;
      }
      bits[w]! &= ~mask;
    }
    entry = next[entry]!;
  }
}

/**
 * True when `r` is a completed read of a value no op on the key could have
 * left there. Whatever a read returns was set by the latest mutation before it
 * (or is the initial null), and that mutation was invoked before the read
 * completed: a read of a value never written, or only by a failed write, is
 * then caught without any search, which would otherwise have to exhaust every
 * order before it.
 */
function unproducible(r: SearchOp, ops: readonly SearchOp[]): boolean {
  if (r.call.kind !== 'read' || !r.known || r.result === null) return false;
  const v = r.result;
  if (typeof v !== 'string') return true;
  return !ops.some((o) => {
    if (o.invoke > r.complete) return false;
    const c = o.call;
    switch (c.kind) {
      case 'read':
      case 'delete':
        return false;
      case 'write':
        return c.value === v;
      case 'incr':
        return o.known ? String(o.result) === v : parseRedisInt(v) !== undefined;
      case 'append':
        return v.endsWith(c.suffix) && (!o.known || o.result === utf8Length(v));
      case 'cas':
        return c.value === v && (!o.known || o.result === 1);
    }
  });
}

/**
 * One key's search in the chosen order. `auto` runs both: a linearizable
 * history is usually placed within a few steps per op in time order, while
 * proving that none exists goes faster when the unknown ops come last, so
 * that the small sets of them used are explored before their supersets.
 */
function searchKey(ops: readonly SearchOp[], budget: Budget, order: SearchOrder): { verdict: Verdict; steps: number } {
  if (order !== 'auto') return search(ops, budget, order === 'unknown-last');
  const half = Math.floor(budget.maxSteps / 2);
  const first = search(ops, { maxSteps: half, outOfTime: budget.outOfTime }, false);
  if (first.verdict !== 'unknown' || ops.every((o) => o.known)) return first;
  const second = search(ops, { maxSteps: budget.maxSteps - first.steps, outOfTime: budget.outOfTime }, true);
  return { verdict: second.verdict, steps: first.steps + second.steps };
}

/** An op whose effect and result do not depend on the state it meets (an unknown DEL's count is not kept). */
function isBlind(op: SearchOp): boolean {
  return op.call.kind === 'write' || (op.call.kind === 'delete' && op.result === null);
}

function isSubset(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if ((a[i]! & ~b[i]!) !== 0) return false;
  return true;
}

function toSearchOp(op: HistoryOp): SearchOp {
  assert(op.status !== 'fail', 'failed ops take no part in the search');
  assert(op.completeTime >= op.invokeTime, () => `op #${op.id} completes (${op.completeTime}) before it is invoked (${op.invokeTime})`);
  const known = op.status === 'ok';
  assert(!known || Number.isFinite(op.completeTime), () => `op #${op.id} is ok but never completes`);
  return { src: op, call: op.call, known, result: op.result, invoke: op.invokeTime, complete: known ? op.completeTime : Infinity };
}

/**
 * Checks that some order of the history's operations, respecting real time
 * (an op that completed before another was invoked comes first), gives every
 * `ok` operation the result it returned. `fail` ops are ignored; `info` ops
 * take effect at some instant after their invocation, or never.
 */
export function checkLinearizable(history: readonly HistoryOp[], options: CheckOptions = {}): CheckResult {
  const maxSteps = options.maxStepsPerKey ?? DEFAULT_MAX_STEPS_PER_KEY;
  const clock = options.clock;
  const maxTimeMs = options.maxTimeMs;
  const order = options.searchOrder ?? 'auto';
  const start = clock?.() ?? 0;
  const budget: Budget = {
    maxSteps,
    outOfTime: () => clock !== undefined && maxTimeMs !== undefined && clock() - start > maxTimeMs,
  };

  const byKey = new Map<string, SearchOp[]>();
  for (const op of history) {
    // A failed op did not happen; a read with an unknown outcome observed
    // nothing and changed nothing.
    if (op.status === 'fail' || (op.status === 'info' && op.call.kind === 'read')) continue;
    let list = byKey.get(op.call.key);
    if (list === undefined) byKey.set(op.call.key, (list = []));
    list.push(toSearchOp(op));
  }

  let steps = 0;
  const unknown: string[] = [];
  let unknownOps = 0;
  let timedOut = false;
  // Sorted keys: the same history always gives the same verdict and report.
  for (const key of [...byKey.keys()].sort()) {
    const ops = byKey.get(key)!;
    if (timedOut || budget.outOfTime()) {
      timedOut = true;
      unknown.push(key);
      continue;
    }
    const r = searchKey(ops, budget, order);
    steps += r.steps;
    if (r.verdict === 'fail') {
      const ex = explain(key, ops, budget, order, options.maxShownOps ?? DEFAULT_MAX_SHOWN_OPS);
      return { ok: false, key, explanation: ex.text, ops: ex.ops, culprit: ex.culprit, steps: steps + ex.steps };
    }
    if (r.verdict === 'unknown') {
      unknown.push(key);
      unknownOps += ops.filter((o) => !o.known).length;
    }
  }
  if (unknown.length > 0) {
    const reason = timedOut
      ? `time budget of ${maxTimeMs} ms spent before every key was checked`
      : `search exceeded ${maxSteps} steps on ${unknown.length} key(s), which hold ${unknownOps} op(s) of unknown ` +
        `outcome (each multiplies the orders to rule out)`;
    return { ok: 'unknown', keys: unknown, reason, steps };
  }
  return { ok: true, steps };
}

/** An op of a prefix: still running at the cut when `pending`. */
interface WindowOp {
  readonly op: SearchOp;
  readonly pending: boolean;
}

/** A prefix as the search sees it: ops still running at the cut have an unknown outcome. */
function asSearched(win: readonly WindowOp[]): SearchOp[] {
  return win.map((w) => (w.pending ? { ...w.op, known: false, result: null, complete: Infinity } : w.op));
}

/**
 * Finds a small failing piece of one key's history and prints it.
 *
 * Linearizability is prefix-closed if ops still running at the cut are
 * treated as unknown-outcome ops: so the shortest prefix, cut just after some
 * op completes, that fails is found by binary search, and its last completion
 * is the first result nothing can explain. Completed reads change no state,
 * so dropping one can only make a history easier to linearize: every read the
 * failure still holds without is dropped too.
 */
function explain(
  key: string,
  ops: readonly SearchOp[],
  budget: Budget,
  order: SearchOrder,
  maxShown: number,
): { text: string; ops: HistoryOp[]; culprit: HistoryOp; steps: number } {
  // Shrinking shares one budget, as large as one key's search: a failure is
  // reported either way, only less trimmed when the budget runs out.
  let steps = 0;
  // False once some check ran out of budget: the prefix found then fails,
  // but a shorter one might too.
  let shortest = true;
  const fails = (win: readonly WindowOp[]): boolean => {
    const left = budget.maxSteps - steps;
    if (left <= 0) {
      shortest = false;
      return false;
    }
    const r = searchKey(asSearched(win), { maxSteps: left, outOfTime: budget.outOfTime }, order);
    steps += r.steps;
    if (r.verdict === 'unknown') shortest = false;
    return r.verdict === 'fail';
  };
  const cuts = ops
    .filter((o) => o.known)
    .sort((a, b) => a.complete - b.complete || a.src.id - b.src.id);
  // The prefix ending at the completion of cuts[j]: ops invoked by then, those
  // completing later (or with another op at the same instant, after it) pending.
  const prefix = (j: number): WindowOp[] => {
    const cut = cuts[j]!;
    const out: WindowOp[] = [];
    for (const o of ops) {
      if (o.invoke > cut.complete) continue;
      const done = o.known && (o.complete < cut.complete || (o.complete === cut.complete && o.src.id <= cut.src.id));
      if (o.call.kind === 'read' && !done) continue; // a pending read observes nothing
      out.push({ op: o, pending: !done });
    }
    return out;
  };

  let lo = 0;
  let hi = cuts.length - 1;
  let window: WindowOp[] = ops.map((o) => ({ op: o, pending: false }));
  if (hi >= 0 && fails(prefix(hi))) {
    window = prefix(hi);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const p = prefix(mid);
      if (fails(p)) {
        hi = mid;
        window = p;
      } else lo = mid + 1;
    }
  } else shortest = false;
  const culprit = cuts[hi] ?? ops[ops.length - 1]!;
  // Read shrinking may run out of budget too; that only leaves more reads shown.
  const exact = shortest;

  // A read of a value nothing in the prefix could have produced needs no
  // context: the read alone is the violation.
  const impossible = unproducible(culprit, asSearched(window));
  let dropped = 0;
  if (impossible) {
    dropped = window.filter((w) => w.op !== culprit && w.op.call.kind === 'read' && !w.pending).length;
    window = window.filter((w) => w.op === culprit);
  }
  if (!impossible) {
    // Drop reads in halving chunks (delta debugging): usually the violation
    // needs few of them, and each trial costs a whole failing search.
    const reads = window.filter((w) => w.op !== culprit && !w.pending && w.op.call.kind === 'read');
    const removed = new Set<WindowOp>();
    const chunks: WindowOp[][] = reads.length > 0 ? [reads] : [];
    let trials = 0;
    while (chunks.length > 0 && trials < MAX_SHRINK_TRIALS) {
      const chunk = chunks.shift()!;
      trials++;
      const gone = new Set(chunk);
      if (fails(window.filter((w) => !removed.has(w) && !gone.has(w)))) {
        for (const w of chunk) removed.add(w);
      } else if (chunk.length > 1) {
        const half = chunk.length >>> 1;
        chunks.push(chunk.slice(0, half), chunk.slice(half));
      }
    }
    window = window.filter((w) => !removed.has(w));
    dropped = removed.size;
  }

  const shownOps: HistoryOp[] = window.map((w) =>
    w.pending ? { ...w.op.src, status: 'info', result: null, completeTime: Infinity, gaveUpTime: null } : w.op.src,
  );
  const text = render(key, window, culprit, exact, impossible, dropped, maxShown);
  return { text, ops: shownOps, culprit: culprit.src, steps };
}

function fmtTime(t: number): string {
  return t === Infinity ? '∞' : String(t);
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function padLeft(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

function render(
  key: string,
  window: readonly WindowOp[],
  culprit: SearchOp,
  exact: boolean,
  impossible: boolean,
  dropped: number,
  maxShown: number,
): string {
  const sorted = [...window].sort((a, b) => a.op.invoke - b.op.invoke || a.op.src.id - b.op.src.id);
  const shown = sorted.length > maxShown ? sorted.slice(sorted.length - maxShown) : sorted;
  const elided = sorted.length - shown.length;

  // One timeline column per distinct finite time shown, two characters wide:
  // only the order of events matters for linearizability, not the gaps.
  const times = new Set<number>();
  for (const w of shown) {
    times.add(w.op.invoke);
    if (!w.pending && w.op.known) times.add(w.op.complete);
  }
  const cols = [...times].sort((a, b) => a - b);
  const colOf = new Map<number, number>();
  cols.forEach((t, i) => colOf.set(t, i * 2));
  const width = cols.length * 2 + 1;

  const lines: string[] = [];
  lines.push(`key ${JSON.stringify(key)} is not linearizable.`);
  lines.push(
    `No order of the operations below, each taking effect at one instant between its invocation and its completion, ` +
      `gives every completed operation the result it returned.`,
  );
  lines.push(
    (exact
      ? `This is the shortest prefix of the key's history that fails: it ends when #${culprit.src.id} completed ` +
        `(t=${fmtTime(culprit.complete)}), marked ✗, the first result that cannot be explained.`
      : `This prefix of the key's history fails; it ends when #${culprit.src.id} completed (t=${fmtTime(culprit.complete)}), ` +
        `marked ✗ (the search for a shorter one ran out of budget).`) +
      ` Operations still running then, and those whose outcome is unknown, end in '…': ` +
      `they may take effect at any later instant, or never.`,
  );
  if (impossible) {
    lines.push(
      `#${culprit.src.id} read ${JSON.stringify(culprit.result)}, which no operation on this key invoked before that read ` +
        `completed could have left there (no write of it, no append ending in it, no incr giving it); the other ` +
        `operations do not matter and are left out.`,
    );
  } else if (dropped > 0) lines.push(`${dropped} read(s) not needed to show the violation are left out.`);
  if (elided > 0) lines.push(`${elided} earlier operation(s) are not shown.`);
  lines.push('');

  const rows = shown.map((w) => {
    const o = w.op;
    const desc = w.pending && o.known ? `${describeCall(o.call)} → (not yet completed)` : describeOp(o.src);
    const open = w.pending || !o.known;
    const a = colOf.get(o.invoke)!;
    const bar = Array<string>(width).fill(' ');
    if (open) {
      bar[a] = '├';
      for (let i = a + 1; i < width; i++) bar[i] = '─';
      bar.push('…');
    } else {
      const b = colOf.get(o.complete)!;
      if (a === b) bar[a] = '│';
      else {
        bar[a] = '├';
        for (let i = a + 1; i < b; i++) bar[i] = '─';
        bar[b] = '┤';
      }
    }
    return {
      mark: o === culprit ? '✗' : ' ',
      id: `#${o.src.id}`,
      client: o.src.client,
      desc,
      inv: fmtTime(o.invoke),
      comp: w.pending && o.known
        ? `after ${fmtTime(culprit.complete)}`
        : open
          ? o.src.gaveUpTime !== null
            ? `? (gave up ${fmtTime(o.src.gaveUpTime)})`
            : '?'
          : fmtTime(o.complete),
      bar: bar.join('').trimEnd(),
    };
  });
  const wId = Math.max(2, ...rows.map((r) => r.id.length));
  const wClient = Math.max(6, ...rows.map((r) => r.client.length));
  const wDesc = Math.max(9, ...rows.map((r) => r.desc.length));
  const wInv = Math.max(7, ...rows.map((r) => r.inv.length));
  const wComp = Math.max(9, ...rows.map((r) => r.comp.length));
  lines.push(
    `  ${pad('op', wId)}  ${pad('client', wClient)}  ${pad('operation', wDesc)}  ${padLeft('invoked', wInv)}  ${pad('completed', wComp)}  timeline`,
  );
  for (const r of rows) {
    lines.push(
      `${r.mark} ${pad(r.id, wId)}  ${pad(r.client, wClient)}  ${pad(r.desc, wDesc)}  ${padLeft(r.inv, wInv)}  ${pad(r.comp, wComp)}  ${r.bar}`,
    );
  }
  return lines.join('\n');
}
