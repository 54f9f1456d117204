// MONITOR: every command this node runs for its clients is streamed to the monitoring
// connections as one status line, in Redis's format:
//   +1339518083.107412 [0 127.0.0.1:60866] "set" "k" "v"
// (wall-clock seconds with microseconds, the database, the client's address, each argument
// quoted and escaped as Redis's sdscatrepr does). Commands refused before running (unknown,
// arity, NOAUTH) are not shown, nor admin commands, and passwords are redacted, as in Redis.
import type { CommandTable } from './resp-command-table.ts';
import type { Connection } from './resp-connection.ts';

/** Redis's sdscatrepr: a double-quoted string with C escapes and \xhh for unprintable bytes. */
export function quoteArg(b: Buffer): string {
  let s = '"';
  for (const c of b) {
    if (c === 0x5c || c === 0x22) s += '\\' + String.fromCharCode(c);
    else if (c === 0x0a) s += '\\n';
    else if (c === 0x0d) s += '\\r';
    else if (c === 0x09) s += '\\t';
    else if (c === 0x07) s += '\\a';
    else if (c === 0x08) s += '\\b';
    else if (c >= 0x20 && c <= 0x7e) s += String.fromCharCode(c);
    else s += '\\x' + c.toString(16).padStart(2, '0');
  }
  return s + '"';
}

const REDACTED = Buffer.from('(redacted)');

/**
 * The arguments as MONITOR and SLOWLOG show them: AUTH's arguments and HELLO's AUTH user and
 * password are replaced, as Redis's redactClientCommandArgument does.
 */
export function redacted(argv: readonly Buffer[]): readonly Buffer[] {
  const name = argv[0]!.toString('latin1').toLowerCase();
  if (name === 'auth') return argv.map((a, i) => (i === 0 ? a : REDACTED));
  if (name !== 'hello') return argv;
  const out = [...argv];
  for (let i = 2; i < out.length; i++) {
    const opt = out[i]!.toString('latin1').toLowerCase();
    if (opt === 'auth' && i + 2 < out.length) {
      out[i + 1] = REDACTED;
      out[i + 2] = REDACTED;
      i += 2;
    } else if (opt === 'setname') i++;
  }
  return out;
}

/** One MONITOR line (without the leading '+' and CRLF). */
export function monitorLine(timeUs: number, addr: string, argv: readonly Buffer[]): string {
  const sec = Math.floor(timeUs / 1e6);
  const usec = Math.floor(timeUs - sec * 1e6);
  return `${sec}.${String(usec).padStart(6, '0')} [0 ${addr}] ${argv.map(quoteArg).join(' ')}`;
}

/** Wall-clock microseconds (Date.now() has only milliseconds). */
export function wallClockUs(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/** The connections in MONITOR mode of one server, and the feed to them. */
export class Monitors {
  private readonly conns = new Set<Connection>();

  constructor(private readonly table: CommandTable) {}

  get size(): number {
    return this.conns.size;
  }

  add(c: Connection): void {
    c.monitoring = true;
    this.conns.add(c);
  }

  remove(c: Connection): void {
    this.conns.delete(c);
  }

  /** Streams a command that ran to every monitor (admin commands are kept out, as in Redis). */
  feed(from: Connection, argv: readonly Buffer[]): void {
    if (this.conns.size === 0 || this.table.hasFlag(argv, 'admin')) return;
    const line = monitorLine(wallClockUs(), from.addr, redacted(argv));
    // Redis feeds a command after it ran, when a RESET has already ended its sender's monitoring.
    const resetting = argv[0]!.length === 5 && argv[0]!.toString('latin1').toLowerCase() === 'reset';
    for (const m of this.conns) {
      if (resetting && m === from) continue;
      // A RESET or a closed socket ends monitoring; the set forgets it on the way.
      if (!m.monitoring || m.isClosing) {
        this.conns.delete(m);
        continue;
      }
      m.deliverStatus(line);
    }
  }
}
