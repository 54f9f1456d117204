// Per-command and per-error counters for INFO commandstats / errorstats / stats, kept as Redis
// 7.0 keeps them (server.c call, rejectCommand, afterErrorReply): a command's calls, time,
// rejected calls (refused before running: arity, authentication, MULTI queueing) and failed
// calls (it ran and answered an error); every error reply counted by its code (the first word,
// ERR when there is none). A node's own counters, never replicated.
import type { Reply } from '../core/reply.ts';

interface Counters {
  calls: number;
  usec: number;
  rejected: number;
  failed: number;
}

/** Redis looks for the code's end within the first 32 bytes of the error. */
const ERROR_CODE_SEARCH_BYTES = 32;
/** Most distinct error codes kept (Redis: ERRORSTATS_LIMIT); past it new codes are not tracked. */
export const ERRORSTATS_LIMIT = 128;

export class CommandStats {
  private readonly commands = new Map<string, Counters>();
  private readonly errors = new Map<string, number>();
  totalErrorReplies = 0;

  private counters(name: string): Counters {
    let c = this.commands.get(name);
    if (c === undefined) this.commands.set(name, (c = { calls: 0, usec: 0, rejected: 0, failed: 0 }));
    return c;
  }

  /** Counts every error reply in `r` (an EXEC's array holds its commands' errors). */
  private countErrors(r: Reply, deep: boolean): number {
    if (r.t === 'error') {
      this.countError(r.msg);
      return 1;
    }
    if (deep && r.t === 'array' && r.items) {
      let n = 0;
      for (const x of r.items) n += this.countErrors(x, false);
      return n;
    }
    return 0;
  }

  /** afterErrorReply: the error's code, or ERR. */
  countError(msg: string): void {
    this.totalErrorReplies++;
    const space = msg.slice(0, ERROR_CODE_SEARCH_BYTES).indexOf(' ');
    const code = space > 0 ? msg.slice(0, space) : 'ERR';
    const n = this.errors.get(code);
    if (n !== undefined) this.errors.set(code, n + 1);
    else if (this.errors.size < ERRORSTATS_LIMIT) this.errors.set(code, 1);
  }

  /** A command that ran (`name` as Redis names it: "get", "client|list"); `usec` its time. */
  called(name: string, usec: number, reply: Reply): void {
    const c = this.counters(name);
    c.calls++;
    c.usec += usec;
    if (this.countErrors(reply, false) > 0) c.failed++;
  }

  /** A command refused before it ran; `name` undefined when no command was found (unknown name or subcommand). */
  rejected(name: string | undefined, reply: Reply): void {
    this.countErrors(reply, false);
    if (name !== undefined && reply.t === 'error') this.counters(name).rejected++;
  }

  /** CONFIG RESETSTAT. */
  reset(): void {
    this.commands.clear();
    this.errors.clear();
    this.totalErrorReplies = 0;
  }

  /** INFO commandstats lines, in name order. */
  commandLines(): string[] {
    return [...this.commands.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, c]) => `cmdstat_${name}:calls=${c.calls},usec=${Math.round(c.usec)},usec_per_call=${(c.calls === 0 ? 0 : c.usec / c.calls).toFixed(2)},rejected_calls=${c.rejected},failed_calls=${c.failed}`);
  }

  /** INFO errorstats lines, in code order (Redis's rax order). */
  errorLines(): string[] {
    return [...this.errors.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([code, n]) => `errorstat_${code}:count=${n}`);
  }
}
