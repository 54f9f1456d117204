// The history model shared by the simulator and the real-process tests: every
// client operation is recorded when it is invoked and again when its outcome
// is known, and the linearizability checker reads the result.
//
// Outcomes follow Jepsen: `ok` (took effect, result observed), `fail` (did
// NOT take effect — only for errors that prove it, e.g. a type error or a
// refusal before anything was logged) and `info` (unknown: a timeout, a
// dropped connection). A timeout is never `fail`: the write may still commit.
//
// Pure and deterministic: the simulator records histories from the same code.

import { assert } from '../src/lib/assert.ts';

/** Who issued an operation; each client has at most one operation outstanding. */
export type ClientId = string;
/** Identity of one recorded operation, unique within a recorder. */
export type OpId = number;

/**
 * An operation on one key of a Redis-like string register. Values are strings;
 * a recorder of binary values should decode them one-to-one (e.g. latin1) so
 * that equal strings mean equal bytes.
 */
export type OpCall =
  | { readonly kind: 'read'; readonly key: string } // GET
  | { readonly kind: 'write'; readonly key: string; readonly value: string } // SET
  | { readonly kind: 'delete'; readonly key: string } // DEL of one key
  | { readonly kind: 'incr'; readonly key: string; readonly by: number } // INCRBY
  | { readonly kind: 'append'; readonly key: string; readonly suffix: string } // APPEND
  // Compare-and-set (a script: SET key value if GET key equals expect).
  | { readonly kind: 'cas'; readonly key: string; readonly expect: string; readonly value: string };

export type OpKind = OpCall['kind'];

/**
 * What an `ok` operation returned:
 * - read: the value, or null when the key is missing;
 * - write: null (just OK);
 * - delete: the count removed, 0 or 1, or null when the caller did not keep it;
 * - incr: the new integer value (a missing key counts as 0), a safe integer:
 *   workloads keep counters well inside ±2^53;
 * - append: the new length in bytes of the UTF-8 value (what Redis returns);
 * - cas: 1 when the value equalled `expect` and was replaced, else 0.
 */
export type OpResult = string | number | null;

export type OpStatus = 'ok' | 'fail' | 'info';

export interface HistoryOp {
  readonly id: OpId;
  readonly client: ClientId;
  readonly call: OpCall;
  readonly status: OpStatus;
  /** Meaningful only when status is `ok`; null otherwise. */
  readonly result: OpResult;
  readonly invokeTime: number;
  /**
   * When the outcome was known. An `info` op completes at +Infinity: it may
   * take effect at any moment after its invocation, or never.
   */
  readonly completeTime: number;
  /** For `info` ops, when the client gave up (for display only); else null. */
  readonly gaveUpTime: number | null;
}

/** Checks that a result has the shape the kind of operation returns. */
export function validResult(call: OpCall, result: OpResult): boolean {
  switch (call.kind) {
    case 'read':
      return result === null || typeof result === 'string';
    case 'write':
      return result === null;
    case 'delete':
      return result === null || result === 0 || result === 1;
    case 'incr':
      return typeof result === 'number' && Number.isSafeInteger(result);
    case 'append':
      return typeof result === 'number' && Number.isSafeInteger(result) && result >= 0;
    case 'cas':
      return result === 0 || result === 1;
  }
}

interface Pending {
  readonly id: OpId;
  readonly client: ClientId;
  readonly call: OpCall;
  readonly invokeTime: number;
}

/**
 * Records a history as it happens. Times must not go backwards: the recorder
 * sees events in the order they happened, and precedence between operations
 * is read from their times (a completion strictly before an invocation).
 */
export class HistoryRecorder {
  private readonly done: HistoryOp[] = [];
  private readonly pending = new Map<OpId, Pending>();
  private readonly busy = new Map<ClientId, OpId>();
  private nextId: OpId = 0;
  private lastTime = -Infinity;

  invoke(client: ClientId, call: OpCall, t: number): OpId {
    this.advance(t);
    const outstanding = this.busy.get(client);
    assert(
      outstanding === undefined,
      () => `client ${client} invoked ${call.kind} on "${call.key}" while op #${outstanding} is still outstanding`,
    );
    if (call.kind === 'incr') assert(Number.isSafeInteger(call.by), `incr by ${call.by}: not a safe integer`);
    const id = this.nextId++;
    this.pending.set(id, { id, client, call, invokeTime: t });
    this.busy.set(client, id);
    return id;
  }

  ok(id: OpId, result: OpResult, t: number): void {
    const call = this.pending.get(id)?.call;
    assert(call === undefined || validResult(call, result), () => `op #${id} ${call?.kind}: result ${JSON.stringify(result)} has the wrong shape`);
    const p = this.complete(id, t);
    this.done.push({ ...p, status: 'ok', result, completeTime: t, gaveUpTime: null });
  }

  /** The operation definitely did not take effect. */
  fail(id: OpId, t: number): void {
    const p = this.complete(id, t);
    this.done.push({ ...p, status: 'fail', result: null, completeTime: t, gaveUpTime: null });
  }

  /** The outcome is unknown; the client may move on to its next operation. */
  info(id: OpId, t: number): void {
    const p = this.complete(id, t);
    this.done.push({ ...p, status: 'info', result: null, completeTime: Infinity, gaveUpTime: t });
  }

  /** Operations still awaiting an outcome. */
  outstanding(): number {
    return this.pending.size;
  }

  /**
   * Every operation recorded, in invocation order. Operations still pending
   * are reported as `info`: when the run ended nobody knew whether they took effect.
   */
  ops(): HistoryOp[] {
    const out: HistoryOp[] = [...this.done];
    for (const p of this.pending.values()) out.push({ ...p, status: 'info', result: null, completeTime: Infinity, gaveUpTime: null });
    return out.sort((a, b) => a.id - b.id);
  }

  private advance(t: number): void {
    assert(Number.isFinite(t), `time ${t} is not finite`);
    assert(t >= this.lastTime, () => `time went backwards: ${t} after ${this.lastTime}`);
    this.lastTime = t;
  }

  private complete(id: OpId, t: number): Pending {
    const p = this.pending.get(id);
    assert(p !== undefined, () => `op #${id} is not outstanding`);
    this.advance(t);
    this.pending.delete(id);
    this.busy.delete(p.client);
    return p;
  }
}

/** A short human form of a call, e.g. `write "a"`, `incr 2`. */
export function describeCall(c: OpCall): string {
  switch (c.kind) {
    case 'read':
      return 'read';
    case 'write':
      return `write ${JSON.stringify(c.value)}`;
    case 'delete':
      return 'delete';
    case 'incr':
      return `incr ${c.by}`;
    case 'append':
      return `append ${JSON.stringify(c.suffix)}`;
    case 'cas':
      return `cas ${JSON.stringify(c.expect)}→${JSON.stringify(c.value)}`;
  }
}

/** A short human form of an operation and its outcome, e.g. `incr 2 → 7`, `write "a" → ?`. */
export function describeOp(op: HistoryOp): string {
  const c = op.call;
  const s = describeCall(c);
  if (op.status === 'ok') {
    if (c.kind === 'write' || (c.kind === 'delete' && op.result === null)) return `${s} → ok`;
    return `${s} → ${JSON.stringify(op.result)}`;
  }
  return `${s} → ${op.status === 'info' ? '?' : 'failed'}`;
}
