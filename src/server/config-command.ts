// CONFIG GET / SET / RESETSTAT / REWRITE / HELP over the parameters this server
// answers (Redis names, Redis 7.0's replies and errors). A node's configuration
// is its JSON file (docs/configuration.md); the parameters here are the ones
// Redis clients and tools ask for. A few change the running server
// (notify-keyspace-events, timeout, maxclients); the rest report what
// understudy does, and a CONFIG SET that asks for something else is refused
// with a message saying why, before any parameter of the command changes.
import { arr, bulk, err, OK, type Reply } from '../core/reply.ts';
import { globMatch } from '../core/kv/glob.ts';
import { formatKeyspaceFlags, parseKeyspaceFlags } from './keyspace-flags.ts';

/** What CONFIG SET may change in the running server, and what it reads back. */
export interface ServerSettings {
  /** notify-keyspace-events as flag bits (src/server/keyspace-flags.ts). */
  notifyKeyspaceEvents: number;
  /** Seconds a client may stay idle before it is closed (0 = never), Redis's `timeout`. */
  timeoutSec: number;
  maxClients: number;
}

/** Redis's range for `timeout` and `maxclients`. */
const INT_MAX = 2147483647;

/** One CONFIG parameter: its value, and how CONFIG SET checks and applies a new one. */
export interface ConfigParam {
  readonly name: string;
  readonly alias?: string;
  get(): string;
  /**
   * Checks a value: an error detail (the text after " - "), or the change to make once every
   * value of the command is checked. Absent: Redis itself cannot change it (immutable).
   */
  readonly check?: (value: string) => string | (() => void);
}

const enumError = (values: readonly string[]): string => `argument(s) must be one of the following: ${values.join(', ')}`;
const EVICTION_POLICIES = ['volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl', 'allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'noeviction'];

/** Redis's memory-value syntax (memtoull): digits with an optional b/k/kb/m/mb/g/gb unit. */
function memoryValue(v: string): bigint | null {
  const m = /^(\d+)(b|k|kb|m|mb|g|gb)?$/i.exec(v);
  if (!m) return null;
  const unit: Record<string, bigint> = { b: 1n, k: 1000n, kb: 1024n, m: 1000n ** 2n, mb: 1024n ** 2n, g: 1000n ** 3n, gb: 1024n ** 3n };
  return BigInt(m[1]!) * unit[(m[2] ?? 'b').toLowerCase()]!;
}

function intValue(v: string, min: number, max: number): number | string {
  if (!/^-?\d+$/.test(v)) return "argument couldn't be parsed into an integer";
  const n = Number(v);
  if (n < min || n > max) return `argument must be between ${min} and ${max} inclusive`;
  return n;
}

/** A parameter understudy fixes: a valid value other than `value` is refused, saying why. */
function fixed(name: string, value: string, valid: (v: string) => string | null, why: string, alias?: string): ConfigParam {
  return {
    name,
    ...(alias !== undefined ? { alias } : {}),
    get: () => value,
    check: (v) => valid(v) ?? (v.toLowerCase() === value ? () => undefined : `understudy supports only '${value}' here: ${why}`),
  };
}

const yesNo = (v: string): string | null => (/^(yes|no)$/i.test(v) ? null : "argument must be 'yes' or 'no'");

export interface ConfigOptions {
  readonly settings: ServerSettings;
  readonly port: () => number;
  readonly bind: string;
  readonly maxValueBytes: number;
  /** Further read-only values (e.g. dir), Redis names. */
  readonly extra?: Readonly<Record<string, string>>;
  /** Further parameters with their own checks (SLOWLOG's and LATENCY's, src/server/diagnostics.ts). */
  readonly more?: readonly ConfigParam[];
  /** CONFIG RESETSTAT: zero the statistics INFO reports. */
  readonly resetStats: () => void;
  /** After a CONFIG SET changed settings (the server follows what depends on them). */
  readonly changed?: () => void;
}

/** The parameter table of docs/pubsub.md ("CONFIG"). */
function params(o: ConfigOptions): ConfigParam[] {
  const s = o.settings;
  const list: ConfigParam[] = [
    {
      name: 'notify-keyspace-events',
      get: () => formatKeyspaceFlags(s.notifyKeyspaceEvents),
      check: (v) => {
        const flags = parseKeyspaceFlags(v);
        return typeof flags === 'string' ? flags : () => (s.notifyKeyspaceEvents = flags);
      },
    },
    {
      name: 'timeout',
      get: () => String(s.timeoutSec),
      check: (v) => {
        const n = intValue(v, 0, INT_MAX);
        return typeof n === 'string' ? n : () => (s.timeoutSec = n);
      },
    },
    {
      name: 'maxclients',
      get: () => String(s.maxClients),
      check: (v) => {
        const n = intValue(v, 1, INT_MAX);
        return typeof n === 'string' ? n : () => (s.maxClients = n);
      },
    },
    // No snapshots: durability is the update log, fsynced before every acknowledgement.
    fixed('save', '', () => null, 'there are no snapshots; every write is in the fsynced update log of every node before its reply'),
    fixed('appendonly', 'yes', yesNo, 'every write is logged and fsynced on every node'),
    fixed('appendfsync', 'always', (v) => (/^(always|everysec|no)$/i.test(v) ? null : enumError(['everysec', 'always', 'no'])), 'every write is fsynced (group commit) before its reply'),
    fixed('maxmemory', '0', (v) => (memoryValue(v) === null ? 'argument must be a memory value' : null), 'keys are never evicted'),
    fixed('maxmemory-policy', 'noeviction', (v) => (EVICTION_POLICIES.includes(v.toLowerCase()) ? null : enumError(EVICTION_POLICIES)), 'keys are never evicted'),
    fixed('replica-read-only', 'yes', yesNo, 'secondaries accept no writes (every write is an update of the primary)', 'slave-read-only'),
    {
      name: 'port',
      get: () => String(o.port()),
      check: (v) => {
        const n = intValue(v, 0, 65535);
        if (typeof n === 'string') return n;
        return n === o.port() ? () => undefined : "understudy supports only the port it listens on: the port is the node's redisAddr in its configuration file";
      },
    },
    fixed('bind', o.bind, () => null, "the address is the node's redisAddr in its configuration file"),
    fixed('proto-max-bulk-len', String(o.maxValueBytes), (v) => (memoryValue(v) === null ? 'argument must be a memory value' : null), 'it is limits.maxValueBytes in the configuration file'),
    { name: 'databases', get: () => '1' },
    { name: 'cluster-enabled', get: () => 'no' },
    { name: 'daemonize', get: () => 'no' },
  ];
  for (const [name, value] of Object.entries(o.extra ?? {})) list.push({ name, get: () => value });
  list.push(...(o.more ?? []));
  return list;
}

/** Redis's CONFIG HELP (7.0). */
const CONFIG_HELP = [
  'CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GET <pattern>',
  '    Return parameters matching the glob-like <pattern> and their values.',
  'SET <directive> <value>',
  '    Set the configuration <directive> to <value>.',
  'RESETSTAT',
  '    Reset statistics reported by the INFO command.',
  'REWRITE',
  '    Rewrite the configuration file.',
  'HELP',
  '    Prints this help.',
];

/** CONFIG and its subcommands (arity already checked by the command table). */
export function configCommand(o: ConfigOptions, argv: readonly Buffer[]): Reply {
  const sub = argv[1]!.toString('latin1').toLowerCase();
  const table = params(o);
  const find = (name: string): ConfigParam | undefined => table.find((p) => p.name === name || p.alias === name);
  switch (sub) {
    case 'get': {
      // Redis 7: several patterns, each a glob over names and aliases; each parameter once.
      const entries: Array<readonly [Reply, Reply]> = [];
      const seen = new Set<string>();
      for (const p of argv.slice(2)) {
        const pattern = p.toString('utf8').toLowerCase();
        for (const param of table) {
          for (const name of param.alias !== undefined ? [param.alias, param.name] : [param.name]) {
            if (seen.has(name) || !globMatch(Buffer.from(pattern), Buffer.from(name), true)) continue;
            seen.add(name);
            entries.push([bulk(name), bulk(param.get())]);
          }
        }
      }
      return { t: 'map', entries };
    }
    case 'set': {
      if (argv.length % 2 !== 0) return err('ERR syntax error');
      const failed = (name: string, why: string): Reply => err(`ERR CONFIG SET failed (possibly related to argument '${name}') - ${why}`);
      const chosen: Array<{ name: string; param: ConfigParam; value: string }> = [];
      // Redis's order: every name is looked up (unknown, immutable, duplicate) before any value is checked.
      for (let i = 2; i < argv.length; i += 2) {
        const name = argv[i]!.toString('utf8');
        const param = find(name.toLowerCase());
        if (!param) return err(`ERR Unknown option or number of arguments for CONFIG SET - '${name}'`);
        if (!param.check) return failed(name, "can't set immutable config");
        if (chosen.some((c) => c.param === param)) return failed(name, 'duplicate parameter');
        chosen.push({ name, param, value: argv[i + 1]!.toString('utf8') });
      }
      // Atomic: every value is checked before anything changes.
      const changes: Array<() => void> = [];
      for (const c of chosen) {
        const r = c.param.check!(c.value);
        if (typeof r === 'string') return failed(c.name, r);
        changes.push(r);
      }
      for (const f of changes) f();
      o.changed?.();
      return OK;
    }
    case 'resetstat':
      o.resetStats();
      return OK;
    case 'rewrite':
      // There is no redis.conf: a node's configuration is its JSON file, and what CONFIG SET
      // changed lasts until the node restarts. Redis answers this when it has no file either.
      return err('ERR The server is running without a config file');
    case 'help':
      return arr(CONFIG_HELP.map((s) => ({ t: 'simple', s })));
    default:
      return err(`ERR unknown subcommand '${argv[1]!.toString('utf8')}'. Try CONFIG HELP.`);
  }
}
