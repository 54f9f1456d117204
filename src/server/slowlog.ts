// SLOWLOG GET [count] | LEN | RESET | HELP: the commands of this node that took longer than
// slowlog-log-slower-than microseconds, newest first, at most slowlog-max-len of them, each as
// Redis 7.0 gives it: [id, unix time, microseconds, arguments, client address, client name],
// with arguments cut as Redis cuts them (SLOWLOG_ENTRY_MAX_ARGC, SLOWLOG_ENTRY_MAX_STRING).
//
// A command's time here runs from when it starts (after any CLIENT PAUSE hold) to when its
// reply is ready: for a write that includes the update becoming durable on every secondary in
// dest, which is what a write's execution is in this store. In memory on each node only.
import { arr, bulk, err, int, OK, type Reply } from '../core/reply.ts';
import { parseI64 } from '../core/kv/numbers.ts';
import type { Done } from './resp-connection.ts';

/** Most arguments kept per entry (Redis's SLOWLOG_ENTRY_MAX_ARGC); the last says how many more there were. */
export const SLOWLOG_ENTRY_MAX_ARGC = 32;
/** Longest argument kept per entry, bytes (Redis's SLOWLOG_ENTRY_MAX_STRING). */
export const SLOWLOG_ENTRY_MAX_STRING = 128;
/** Entries SLOWLOG GET returns without a count (Redis's default). */
const SLOWLOG_GET_DEFAULT = 10;

/** The two settings, named as Redis's CONFIG parameters (settable while the node runs). */
export interface SlowlogSettings {
  /** Microseconds; a command at least this slow is logged. Negative disables the log, 0 logs every command. */
  slowlogLogSlowerThanUs: number;
  /** Entries kept; the oldest go first. */
  slowlogMaxLen: number;
}

interface Entry {
  readonly id: number;
  readonly timeS: number;
  readonly durationUs: number;
  readonly argv: readonly Buffer[];
  readonly addr: string;
  readonly name: string;
}

/** The arguments as an entry keeps them (Redis's slowlogCreateEntry). */
export function slowlogArgs(argv: readonly Buffer[]): Buffer[] {
  const n = Math.min(argv.length, SLOWLOG_ENTRY_MAX_ARGC);
  const out: Buffer[] = [];
  for (let j = 0; j < n; j++) {
    if (n !== argv.length && j === n - 1) {
      out.push(Buffer.from(`... (${argv.length - n + 1} more arguments)`));
      break;
    }
    const a = argv[j]!;
    // Copies, so an entry never keeps a client's large argument alive.
    out.push(
      a.length > SLOWLOG_ENTRY_MAX_STRING
        ? Buffer.concat([a.subarray(0, SLOWLOG_ENTRY_MAX_STRING), Buffer.from(`... (${a.length - SLOWLOG_ENTRY_MAX_STRING} more bytes)`)])
        : Buffer.from(a),
    );
  }
  return out;
}

export class SlowLog {
  /** Newest last. */
  private entries: Entry[] = [];
  private nextId = 0;

  constructor(private readonly settings: SlowlogSettings) {}

  get length(): number {
    return this.entries.length;
  }

  /** Logs a command that ran for `durationUs` if the settings say it is slow. */
  record(argv: readonly Buffer[], durationUs: number, addr: string, name: string): void {
    const { slowlogLogSlowerThanUs: threshold, slowlogMaxLen: maxLen } = this.settings;
    if (threshold < 0 || durationUs < threshold) return;
    this.entries.push({ id: this.nextId++, timeS: Math.floor(Date.now() / 1000), durationUs, argv: slowlogArgs(argv), addr, name });
    this.trim(maxLen);
  }

  /** Drops the oldest entries beyond `maxLen` (also when slowlog-max-len is lowered). */
  trim(maxLen: number): void {
    if (this.entries.length > maxLen) this.entries.splice(0, this.entries.length - maxLen);
  }

  reset(): void {
    this.entries = [];
  }

  /** Newest first, at most `count` (all when negative). */
  newest(count: number): Reply {
    const picked = count < 0 ? this.entries.slice() : this.entries.slice(Math.max(0, this.entries.length - count));
    return arr(
      picked.reverse().map((e) => arr([int(e.id), int(e.timeS), int(e.durationUs), arr(e.argv.map((a) => bulk(a))), bulk(e.addr), bulk(e.name)])),
    );
  }
}

const SLOWLOG_HELP = [
  'SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GET [<count>]',
  '    Return top <count> entries from the slowlog (default: 10, -1 mean all).',
  '    Entries are made of:',
  '    id, timestamp, time in microseconds, arguments array, client IP and port,',
  '    client name',
  'LEN',
  '    Return the length of the slowlog.',
  'RESET',
  '    Reset the slowlog.',
  'HELP',
  '    Prints this help.',
];

/** The SLOWLOG command over one node's log; arity per subcommand is checked by the command table. */
export function slowlogCommand(log: SlowLog, argv: readonly Buffer[], done: Done): void {
  const sub = argv[1]!.toString('latin1').toLowerCase();
  if (sub === 'help' && argv.length === 2) return done(arr(SLOWLOG_HELP.map((s) => ({ t: 'simple', s }))));
  if (sub === 'len' && argv.length === 2) return done(int(log.length));
  if (sub === 'reset' && argv.length === 2) {
    log.reset();
    return done(OK);
  }
  if (sub === 'get' && argv.length <= 3) {
    let count = SLOWLOG_GET_DEFAULT;
    if (argv.length === 3) {
      const n = parseI64(argv[2]!);
      if (n === null || n < -1n) return done(err('ERR count should be greater than or equal to -1'));
      count = n > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(n);
    }
    return done(log.newest(count));
  }
  if (sub === 'get') return done(err(`ERR unknown subcommand or wrong number of arguments for '${argv[1]!.toString('utf8')}'. Try SLOWLOG HELP.`));
  done(err(`ERR unknown subcommand '${argv[1]!.toString('utf8', 0, 128)}'. Try SLOWLOG HELP.`));
}
