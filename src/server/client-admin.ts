// The CLIENT subcommands that act on connections other than the caller's, or on the
// server's treatment of the caller: KILL (the old ip:port form and the filters ID TYPE ADDR
// LADDR USER SKIPME MAXAGE), PAUSE / UNPAUSE, NO-EVICT, NO-TOUCH and HELP, with Redis's
// argument checks and error texts; and the flags field CLIENT LIST shows.
import { err, int, OK, type Reply } from '../core/reply.ts';
import type { PauseMode } from './client-pause.ts';
import type { Connection } from './resp-connection.ts';
import { parseI64 } from '../core/kv/numbers.ts';
import { PubSubRegistry } from './pubsub.ts';

const str = (b: Buffer | undefined): string => (b === undefined ? '' : b.toString('utf8'));
const lower = (b: Buffer | undefined): string => (b === undefined ? '' : b.toString('latin1').toLowerCase());
const SYNTAX = err('ERR syntax error');

/** Client types CLIENT KILL / LIST TYPE accept; "slave" is Redis's old name for replica. */
export const CLIENT_TYPES = ['normal', 'master', 'replica', 'slave', 'pubsub'] as const;

/**
 * Redis's getClientType. Every client of this server is normal or pubsub: replication runs on
 * the peer port, so no connection here is a master or a replica (a MONITOR client, flagged a
 * replica in Redis, is reported as normal there too).
 */
export function clientType(c: Connection): 'normal' | 'pubsub' {
  return PubSubRegistry.subscribed(c) ? 'pubsub' : 'normal';
}

/** CLIENT LIST's flags, in Redis's order (getClientInfoString), for the states kept here. */
export function clientFlags(c: Connection): string {
  let f = '';
  if (c.monitoring) f += 'O';
  if (PubSubRegistry.subscribed(c)) f += 'P';
  if (c.multi) f += 'x';
  if (c.isHeld || c.isBlocked) f += 'b';
  if (c.tracking) f += 't';
  if (c.tracking?.broken) f += 'R';
  if (c.tracking?.bcast) f += 'B';
  if (c.watchDirty) f += 'd';
  if (c.isClosing) f += 'c';
  if (c.noEvict) f += 'e';
  if (c.noTouch) f += 'T';
  return f || 'N';
}

/** What CLIENT KILL and CLIENT PAUSE need from the server. */
export interface ClientAdminHost {
  clients(): Iterable<Connection>;
  pause(mode: PauseMode, endMs: number): void;
  unpause(): void;
}

/** CLIENT KILL addr (old form: OK or an error) and CLIENT KILL <filter> <value> … (a count). */
export function clientKill(host: ClientAdminHost, self: Connection, argv: readonly Buffer[]): Reply {
  if (argv.length === 3) {
    const addr = str(argv[2]);
    for (const other of host.clients()) {
      if (other.addr !== addr) continue;
      kill(self, other);
      return OK;
    }
    return err('ERR No such client');
  }
  if ((argv.length - 2) % 2 !== 0) return SYNTAX;
  let id: number | null = null;
  let type: string | null = null;
  let addr: string | null = null;
  let laddr: string | null = null;
  let maxAgeS: bigint | null = null;
  let skipme = true;
  for (let i = 2; i < argv.length; i += 2) {
    const opt = lower(argv[i]);
    const v = argv[i + 1]!;
    if (opt === 'id') {
      const n = parseI64(v);
      if (n === null || n <= 0n) return err('ERR client-id should be greater than 0');
      id = Number(n); // ids past 2^53 match no client either way
    } else if (opt === 'type') {
      const t = lower(v);
      if (!(CLIENT_TYPES as readonly string[]).includes(t)) return err(`ERR Unknown client type '${str(v)}'`);
      type = t === 'slave' ? 'replica' : t;
    } else if (opt === 'addr') addr = str(v);
    else if (opt === 'laddr') laddr = str(v);
    else if (opt === 'user') {
      // One user exists: the default one (no ACLs here).
      if (str(v) !== 'default') return err(`ERR No such user '${str(v)}'`);
    } else if (opt === 'skipme') {
      const yn = lower(v);
      if (yn !== 'yes' && yn !== 'no') return SYNTAX;
      skipme = yn === 'yes';
    } else if (opt === 'maxage') {
      // Redis 7.4: kill connections older than this many seconds.
      const n = parseI64(v);
      if (n === null) return err('ERR value is not an integer or out of range');
      maxAgeS = n;
    } else return SYNTAX;
  }
  const now = Date.now();
  let killed = 0;
  for (const other of [...host.clients()]) {
    if (id !== null && other.id !== id) continue;
    if (type !== null && clientType(other) !== type) continue;
    if (addr !== null && other.addr !== addr) continue;
    if (laddr !== null && other.laddr !== laddr) continue;
    // USER default matches every client: all are authenticated as the default user.
    if (maxAgeS !== null && BigInt(Math.floor((now - other.createdAtMs) / 1000)) < maxAgeS) continue;
    if (skipme && other === self) continue;
    kill(self, other);
    killed++;
  }
  return int(killed);
}

function kill(self: Connection, other: Connection): void {
  // Killing oneself closes after this reply is written, as Redis does; others go at once.
  if (other === self) self.closeAfterReplies();
  else other.destroy();
}

/**
 * CLIENT PAUSE timeout [WRITE|ALL]: Redis's checks in its order. The end must stay a safe
 * integer of ms here (Redis 7.2 refuses an end past its int64 clock the same way).
 */
export function clientPause(host: ClientAdminHost, argv: readonly Buffer[]): Reply {
  if (argv.length > 4) return err(`ERR unknown subcommand or wrong number of arguments for '${str(argv[1])}'. Try CLIENT HELP.`);
  const t = parseI64(argv[2]!);
  if (t === null) return err('ERR timeout is not an integer or out of range');
  if (t < 0n) return err('ERR timeout is negative');
  let mode: PauseMode = 'all';
  if (argv.length === 4) {
    const m = lower(argv[3]);
    if (m === 'write') mode = 'write';
    else if (m !== 'all') return err('ERR CLIENT PAUSE mode must be WRITE or ALL');
  }
  const now = Date.now();
  if (t > BigInt(Number.MAX_SAFE_INTEGER - now)) return err('ERR timeout is out of range');
  host.pause(mode, now + Number(t));
  return OK;
}

/** CLIENT NO-EVICT ON|OFF and CLIENT NO-TOUCH ON|OFF: a per-connection switch. */
export function onOff(argv: readonly Buffer[], set: (on: boolean) => void): Reply {
  const v = lower(argv[2]);
  if (v !== 'on' && v !== 'off') return SYNTAX;
  set(v === 'on');
  return OK;
}

/** CLIENT HELP: Redis's text for the subcommands served here. */
export const CLIENT_HELP = [
  'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CACHING (YES|NO)',
  '    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.',
  'GETREDIR',
  '    Return the client ID we are redirecting to when tracking is enabled.',
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'KILL <ip:port>',
  '    Kill connection made from <ip:port>.',
  'KILL <option> <value> [<option> <value> [...]]',
  '    Kill connections. Options are:',
  '    * ADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made from the specified address',
  '    * LADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made to specified local address',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Kill connections by type.',
  '    * USER <username>',
  '      Kill connections authenticated by <username>.',
  '    * SKIPME (YES|NO)',
  '      Skip killing current connection (default: yes).',
  '    * MAXAGE <maxage>',
  '      Kill connections older than the specified age.',
  'LIST [options ...]',
  '    Return information about client connections. Options:',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Return clients of specified type.',
  'UNPAUSE',
  '    Stop the current client pause, resuming traffic.',
  'PAUSE <timeout> [WRITE|ALL]',
  '    Suspend all, or just write, clients for <timeout> milliseconds.',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
  'UNBLOCK <clientid> [TIMEOUT|ERROR]',
  '    Unblock the specified blocked client.',
  'SETINFO <option> <value>',
  '    Set client meta attr. Options are:',
  '    * LIB-NAME: the client lib name.',
  '    * LIB-VER: the client lib version.',
  'TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]',
  '         [OPTIN] [OPTOUT] [NOLOOP]',
  '    Control server assisted client side caching.',
  'TRACKINGINFO',
  '    Report tracking status for the current connection.',
  'NO-EVICT (ON|OFF)',
  '    Protect current client connection from eviction.',
  'NO-TOUCH (ON|OFF)',
  "    Will not touch LRU/LFU stats when this mode is on.",
  'HELP',
  '    Prints this help.',
];
