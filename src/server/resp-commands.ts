// The connection-level commands, with Redis's semantics and error texts:
// PING ECHO HELLO AUTH SELECT QUIT RESET CLIENT INFO ROLE COMMAND CONFIG DBSIZE
// MULTI EXEC DISCARD WATCH UNWATCH WAIT. Data commands never come here; they
// go to the node (src/server/resp-connection.ts).
import { timingSafeEqual, createHash } from 'node:crypto';
import { arr, bulk, err, int, OK, type Reply } from '../core/reply.ts';
import type { NodeHandle } from '../runtime/node-api.ts';
import type { CommandSpec, CommandTable } from './resp-command-table.ts';
import { arityError, type Connection, type Handler } from './resp-connection.ts';
import { INT_MAX, INT_MIN, parseI64 } from '../core/kv/numbers.ts';
import { PubSubRegistry } from './pubsub.ts';
import { configCommand, type ConfigOptions } from './config-command.ts';
import type { TrackingTable } from './tracking.ts';
import { clientUnblock, type BlockingRegistry } from './blocking.ts';
import { infoText, REDIS_COMPAT_VERSION, roleReply, type InfoContext } from './resp-info.ts';
import { CLIENT_HELP, CLIENT_TYPES, clientFlags, clientKill, clientPause, clientType, onOff, type ClientAdminHost } from './client-admin.ts';
import { commandCommand } from './command-command.ts';
import { clientReply } from './client-reply.ts';

/** What the handlers need from the server beyond one connection. */
export interface HandlerHost extends ClientAdminHost {
  readonly mode: 'data' | 'sentinel';
  readonly node: NodeHandle;
  readonly requirePass: string | undefined;
  readonly table: CommandTable;
  clients(): Iterable<Connection>;
  infoContext(): InfoContext;
  /** What CONFIG reads and changes (src/server/config-command.ts). */
  configOptions(): ConfigOptions;
  /** Whether DBSIZE is a data command of the executor (then it is not answered here). */
  readonly dbsizeOnNode: boolean;
  /** The clients blocked in BLPOP and the like (CLIENT UNBLOCK); none on the sentinel port. */
  readonly blocking?: BlockingRegistry;
  /** CLIENT TRACKING's table (src/server/tracking.ts). */
  readonly tracking?: TrackingTable;
}

const str = (b: Buffer | undefined): string => (b === undefined ? '' : b.toString('utf8'));
const lower = (b: Buffer | undefined): string => (b === undefined ? '' : b.toString('latin1').toLowerCase());
const simple = (s: string): Reply => ({ t: 'simple', s });
const SYNTAX = err('ERR syntax error');
const NOT_INT = err('ERR value is not an integer or out of range');

/**
 * Redis's string2ll: an optional '-', then digits without leading zeros, within int64 — all of
 * int64, as Redis accepts it (a safe-integer bound here refused e.g. WAIT 0 2^63-1 with the
 * wrong error); each command then applies its own range with Redis's message.
 */
export function parseInteger(b: Buffer | undefined): bigint | null {
  return b === undefined ? null : parseI64(b);
}

/** Passwords compared in constant time (on digests, so lengths do not leak either). */
function passwordMatches(given: Buffer, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

const WRONGPASS = err('WRONGPASS invalid username-password pair or user is disabled.');

/** Redis allows client names and lib names of printable ASCII without spaces. */
function validName(s: Buffer): boolean {
  for (const c of s) if (c < 0x21 || c > 0x7e) return false;
  return true;
}

/** One CLIENT LIST / CLIENT INFO line, Redis's fields in Redis's order (those that apply). */
export function clientLine(c: Connection): string {
  const now = Date.now();
  const flags = clientFlags(c);
  return (
    `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=-1 name=${c.name} age=${Math.floor((now - c.createdAtMs) / 1000)} ` +
    `idle=${Math.floor((now - c.lastActiveMs) / 1000)} flags=${flags} db=0 sub=${c.channels.size} psub=${c.patterns.size} ssub=${c.shardChannels.size} ` +
    `multi=${c.multi ? c.multi.queue.length : -1} watch=${c.watched.size} qbuf=${c.queryBufferBytes} qbuf-free=0 argv-mem=0 multi-mem=0 ` +
    `rbs=0 rbp=0 obl=0 oll=${c.pendingReplies} omem=${c.socket.writableLength} tot-mem=0 events=r cmd=${c.lastCmd} user=default ` +
    `redir=-1 resp=${c.proto} lib-name=${c.libName} lib-ver=${c.libVer}`
  );
}

function verbatim(text: string): Reply {
  return { t: 'verbatim', format: 'txt', s: text };
}

export function connectionHandlers(host: HandlerHost): Map<string, Handler> {
  const h = new Map<string, Handler>();

  h.set('ping', (c, argv, done) => {
    if (argv.length > 2) return done(arityError('ping'));
    if (c.proto === 2 && PubSubRegistry.subscribed(c)) return done(arr([bulk('pong'), bulk(argv[1] ?? '')]));
    done(argv.length === 2 ? bulk(argv[1]!) : simple('PONG'));
  });
  h.set('echo', (_c, argv, done) => done(bulk(argv[1]!)));
  h.set('quit', (_c, _argv, done) => done(OK, { close: true }));
  h.set('reset', (c, _argv, done) => {
    c.resetState();
    done(simple('RESET'));
  });

  h.set('auth', (c, argv, done) => {
    if (argv.length > 3) return done(SYNTAX);
    const user = argv.length === 3 ? str(argv[1]) : 'default';
    const pass = argv[argv.length - 1]!;
    if (host.requirePass === undefined) {
      if (argv.length === 2)
        return done(
          err('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?'),
        );
      return done(user === 'default' ? OK : WRONGPASS);
    }
    if (user !== 'default' || !passwordMatches(pass, host.requirePass)) return done(WRONGPASS);
    c.authed = true;
    done(OK);
  });

  h.set('hello', (c, argv, done) => {
    let proto = c.proto;
    if (argv.length >= 2) {
      const v = parseInteger(argv[1]);
      if (v === null) return done(err('ERR Protocol version is not an integer or out of range'));
      if (v !== 2n && v !== 3n) return done(err('NOPROTO unsupported protocol version'));
      proto = v === 2n ? 2 : 3;
    }
    let auth: [string, Buffer] | null = null;
    let setname: Buffer | null = null;
    for (let i = 2; i < argv.length; i++) {
      const opt = lower(argv[i]);
      const more = argv.length - i - 1;
      if (opt === 'auth' && more >= 2) {
        auth = [str(argv[i + 1]), argv[i + 2]!];
        i += 2;
      } else if (opt === 'setname' && more >= 1) {
        setname = argv[i + 1]!;
        i += 1;
      } else {
        return done(err(`ERR Syntax error in HELLO option '${str(argv[i])}'`));
      }
    }
    if (auth) {
      const ok =
        host.requirePass === undefined ? auth[0] === 'default' : auth[0] === 'default' && passwordMatches(auth[1], host.requirePass);
      if (!ok) return done(WRONGPASS);
      c.authed = true;
    }
    if (!c.authed)
      return done(
        err(
          'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
        ),
      );
    if (setname) {
      if (!validName(setname)) return done(err('ERR Client names cannot contain spaces, newlines or special characters.'));
      c.name = str(setname);
    }
    c.proto = proto;
    const role = host.mode === 'sentinel' ? 'master' : host.node.role() === 'primary' ? 'master' : 'replica';
    done({
      t: 'map',
      entries: [
        [bulk('server'), bulk('redis')],
        [bulk('version'), bulk(REDIS_COMPAT_VERSION)],
        [bulk('proto'), int(proto)],
        [bulk('id'), int(c.id)],
        [bulk('mode'), bulk(host.mode === 'sentinel' ? 'sentinel' : 'standalone')],
        [bulk('role'), bulk(role)],
        [bulk('modules'), arr([])],
      ],
    });
  });

  h.set('select', (_c, argv, done) => {
    const n = parseInteger(argv[1]);
    if (n === null) return done(NOT_INT);
    if (n < INT_MIN || n > INT_MAX) return done(err(`ERR value is out of range, value must between ${INT_MIN} and ${INT_MAX}`));
    // One keyspace per cluster: a replicated database number would buy nothing but a second namespace.
    done(n === 0n ? OK : err('ERR DB index is out of range'));
  });

  h.set('client', (c, argv, done) => {
    const sub = lower(argv[1]);
    switch (sub) {
      case 'setinfo': {
        const attr = lower(argv[2]);
        const v = argv[3]!;
        if (attr !== 'lib-name' && attr !== 'lib-ver') return done(err(`ERR Unrecognized option '${str(argv[2])}'`));
        if (!validName(v) && v.length > 0) return done(err(`ERR ${attr} cannot contain spaces, newlines or special characters.`));
        if (attr === 'lib-name') c.libName = str(v);
        else c.libVer = str(v);
        return done(OK);
      }
      case 'setname': {
        const v = argv[2]!;
        if (!validName(v) && v.length > 0) return done(err('ERR Client names cannot contain spaces, newlines or special characters.'));
        c.name = str(v);
        return done(OK);
      }
      case 'getname':
        return done(c.name ? bulk(c.name) : bulk(null));
      case 'id':
        return done(int(c.id));
      case 'info':
        return done(verbatim(clientLine(c) + '\n'));
      case 'list': {
        let ids: Set<number> | null = null;
        let type: string | null = null;
        for (let i = 2; i < argv.length; i++) {
          const opt = lower(argv[i]);
          if (opt === 'type' && i + 1 < argv.length) {
            type = lower(argv[++i]);
            if (!(CLIENT_TYPES as readonly string[]).includes(type))
              return done(err(`ERR Unknown client type '${str(argv[i])}'`));
          } else if (opt === 'id' && i + 1 < argv.length) {
            ids ??= new Set();
            for (i++; i < argv.length; i++) {
              const n = parseInteger(argv[i]);
              if (n === null) return done(err('ERR Invalid client ID'));
              ids.add(Number(n)); // ids past 2^53 match no client either way
            }
          } else {
            return done(SYNTAX);
          }
        }
        let text = '';
        for (const other of host.clients())
          if ((!ids || ids.has(other.id)) && (type === null || clientType(other) === (type === 'slave' ? 'replica' : type))) text += clientLine(other) + '\n';
        return done(verbatim(text));
      }
      case 'kill':
        return done(clientKill(host, c, argv));
      case 'unblock':
        if (argv.length > 4) return done(err(`ERR unknown subcommand or wrong number of arguments for '${str(argv[1])}'. Try CLIENT HELP.`));
        return done(clientUnblock(host.blocking, argv));
      case 'pause':
        return done(clientPause(host, argv));
      case 'unpause':
        host.unpause();
        return done(OK);
      case 'no-evict':
        return done(onOff(argv, (on) => (c.noEvict = on)));
      case 'no-touch':
        return done(onOff(argv, (on) => (c.noTouch = on)));
      case 'tracking':
      case 'caching':
      case 'getredir':
      case 'trackinginfo':
        if (!host.tracking) return done(err(`ERR unknown subcommand '${str(argv[1])}'. Try CLIENT HELP.`));
        return done(host.tracking.command(c, argv));
      case 'help':
        return done(arr(CLIENT_HELP.map(simple)));
      case 'reply':
        return done(clientReply(c, argv[2]!));
      default:
        return done(err(`ERR unknown subcommand '${str(argv[1])}'. Try CLIENT HELP.`));
    }
  });

  h.set('info', (_c, argv, done) => done(verbatim(infoText(host.infoContext(), argv.slice(1).map((b) => str(b))))));
  h.set('role', (_c, _argv, done) => done(roleReply(host.node)));

  // What this port serves: its own handlers, and on a data port the executor's commands.
  const served = (): CommandSpec[] => host.table.all().filter((s) => h.has(s.name) || (host.mode === 'data' && host.table.dataNames.has(s.name)));
  h.set('command', (_c, argv, done) => done(commandCommand(host.table, served(), argv)));

  h.set('config', (_c, argv, done) => done(configCommand(host.configOptions(), argv)));

  if (!host.dbsizeOnNode) h.set('dbsize', (_c, _argv, done) => done(int(host.node.status().keys)));

  h.set('multi', (c, _argv, done) => {
    if (c.multi) return done(err('ERR MULTI calls can not be nested'));
    c.beginMulti();
    done(OK);
  });
  h.set('exec', (c, _argv, done) => {
    if (!c.multi) return done(err('ERR EXEC without MULTI'));
    c.exec(done);
  });
  h.set('discard', (c, _argv, done) => {
    if (!c.multi) return done(err('ERR DISCARD without MULTI'));
    c.multi = null;
    c.unwatch();
    done(OK);
  });
  h.set('watch', (c, argv, done) => {
    if (c.multi) return done(err('ERR WATCH inside MULTI is not allowed'));
    for (const k of argv.slice(1)) c.watch(k);
    done(OK);
  });
  h.set('unwatch', (c, _argv, done) => {
    c.unwatch();
    done(OK);
  });

  h.set('wait', (c, argv, done) => {
    // Redis's order of checks: role first, then each argument with its own message.
    if (host.node.role() !== 'primary')
      return done(
        err(
          'ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.',
        ),
      );
    const n = parseInteger(argv[1]);
    if (n === null) return done(NOT_INT);
    const timeout = parseInteger(argv[2]);
    if (timeout === null) return done(err('ERR timeout is not an integer or out of range'));
    if (timeout < 0n) return done(err('ERR timeout is negative'));
    // Past 2^53 the numbers only need their order: more replicas than exist, a deadline never reached.
    const want = n < 0n ? 0 : Number(n);
    // The writes pipelined before WAIT must have their lsn first, as in Redis where they ran before it.
    c.afterPendingCommands(() => host.node.waitReplicas(c.lastLsn, want, Number(timeout), (count) => done(int(count))));
  });

  return h;
}

