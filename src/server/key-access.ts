// OBJECT IDLETIME's access times: when each key was last named by a command this node ran
// for its clients. Kept in memory on each node and not replicated — an access is a read as
// often as not, and replicating reads would make every GET a write. So a secondary's idle
// times count its own clients' commands, not the writes it receives from the primary, and a
// restarted node starts every key at its start time (as Redis does after loading its data).
//
// The keys a command names come from its key positions in the command table; commands that
// Redis runs with LOOKUP_NOTOUCH (OBJECT, TYPE, EXISTS, TTL…) leave the time alone, and so
// does every command of a CLIENT NO-TOUCH client except TOUCH.
import { bulk, int, type Reply } from '../core/reply.ts';
import type { CommandTable } from './resp-command-table.ts';

/**
 * Keys whose access time is kept. Beyond it the keys tracked longest are forgotten, and a
 * forgotten key reports the idle time since the newest access forgotten (a lower bound).
 */
export const MAX_TRACKED_KEYS = 1_000_000;

/** Commands that read a key without touching it (Redis: LOOKUP_NOTOUCH). */
const NO_TOUCH_COMMANDS = new Set(['object', 'type', 'exists', 'ttl', 'pttl', 'expiretime', 'pexpiretime']);

const EXISTS = Buffer.from('EXISTS');

export class KeyAccessTimes {
  /** key (latin1) → ms; Map order is the order keys were first tracked. */
  private readonly times = new Map<string, number>();
  /** Untracked keys were last accessed no later than this: the node's start, or the newest forgotten access. */
  private floorMs: number;

  constructor(
    private readonly table: CommandTable,
    private readonly maxKeys = MAX_TRACKED_KEYS,
    /** Wall clock, ms (tests pass their own). */
    private readonly now: () => number = Date.now,
  ) {
    this.floorMs = now();
  }

  get size(): number {
    return this.times.size;
  }

  /** Notes the keys these commands name as accessed now. */
  accessed(cmds: readonly Buffer[][], noTouch: boolean): void {
    const now = this.now();
    for (const argv of cmds) {
      // On every command's path: one lookup, no arrays.
      const name = argv[0]!.toString('latin1').toLowerCase();
      const spec = this.table.byName.get(name);
      if (!spec || spec.firstKey <= 0 || NO_TOUCH_COMMANDS.has(name) || (noTouch && name !== 'touch')) continue;
      const last = spec.lastKey < 0 ? argv.length + spec.lastKey : spec.lastKey;
      const step = Math.max(1, spec.step);
      for (let i = spec.firstKey; i <= last && i < argv.length; i += step) this.touch(argv[i]!.toString('latin1'), now);
    }
  }

  private touch(key: string, now: number): void {
    // A set keeps the key's place in the Map's order (a delete first, to keep the order by
    // access, would double the cost on every command): the keys tracked longest go first.
    this.times.set(key, now);
    if (this.times.size <= this.maxKeys) return;
    for (const [oldest, t] of this.times) {
      this.times.delete(oldest);
      this.floorMs = Math.max(this.floorMs, t);
      break;
    }
  }

  /** Seconds since the key was last accessed here (Redis rounds down too). */
  idleSeconds(key: Buffer): number {
    const t = this.times.get(key.toString('latin1')) ?? this.floorMs;
    return Math.max(0, Math.floor((this.now() - t) / 1000));
  }

  /**
   * The node knows whether a key exists, the server when it was last accessed: OBJECT IDLETIME k
   * goes to the node as EXISTS k (in its place, so a transaction sees it in order) and its 1 or 0
   * comes back as the idle time or nil. Null when the batch holds no OBJECT IDLETIME.
   */
  forNode(cmds: Buffer[][]): { cmds: Buffer[][]; replies: (replies: Reply[]) => Reply[] } | null {
    let idle: number[] | null = null;
    for (let i = 0; i < cmds.length; i++) if (isIdletime(cmds[i]!)) (idle ??= []).push(i);
    if (!idle) return null;
    const at = new Set(idle);
    return {
      cmds: cmds.map((argv, i) => (at.has(i) ? [EXISTS, argv[2]!] : argv)),
      replies: (replies) =>
        replies.map((r, i) => {
          if (!at.has(i) || r.t !== 'int') return r;
          return Number(r.n) === 0 ? bulk(null) : int(this.idleSeconds(cmds[i]![2]!));
        }),
    };
  }
}

function isIdletime(argv: readonly Buffer[]): boolean {
  return argv.length === 3 && argv[0]!.length === 6 && argv[0]!.toString('latin1').toLowerCase() === 'object' && argv[1]!.toString('latin1').toLowerCase() === 'idletime';
}
