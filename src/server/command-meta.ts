// COMMAND's answers (INFO, DOCS, LIST with FILTERBY, COUNT, GETKEYS, GETKEYSANDFLAGS) for the
// commands this server supports, from Redis 7.0's own description of them
// (redis-command-meta.ts, generated from redis-server): clients that route by key specs or show
// documentation see what Redis shows. Commands Redis does not have are described from this
// server's own table. Keys are found as Redis finds them (db.c getKeysUsingKeySpecs, and the
// getkeys procedures of the commands whose key specs are incomplete or have variable flags).
import { arr, bulk, err, int, type Reply } from '../core/reply.ts';
import { globMatch } from '../core/kv/glob.ts';
import { parseI64 } from '../core/kv/numbers.ts';
import type { CommandSpec, CommandTable } from './resp-command-table.ts';
import { REDIS_COMMAND_META } from './redis-command-meta.ts';

/**
 * A reply tree as the generator writes it: string = bulk, number = integer, null = null,
 * {s} = simple string, {a} = array, {set} = set, {m} = map.
 */
export type Tree =
  | string
  | number
  | null
  | { readonly s: string }
  | { readonly a: readonly Tree[] }
  | { readonly set: readonly Tree[] }
  | { readonly m: ReadonlyArray<readonly [Tree, Tree]> };

/** One command of Redis's description (COMMAND INFO's fields and its COMMAND DOCS map). */
export interface CommandMeta {
  readonly name: string;
  readonly arity: number;
  readonly flags: readonly string[];
  readonly keys: readonly [number, number, number] | readonly number[];
  readonly acl: readonly string[];
  readonly tips: readonly Tree[];
  readonly keySpecs: Tree;
  /** COMMAND DOCS's map without its subcommands. */
  readonly docs: Tree;
  readonly subcommands: readonly CommandMeta[];
}

export function treeReply(t: Tree): Reply {
  if (t === null) return { t: 'null' };
  if (typeof t === 'string') return bulk(t);
  if (typeof t === 'number') return int(t);
  if ('s' in t) return { t: 'simple', s: t.s };
  if ('a' in t) return arr(t.a.map(treeReply));
  if ('set' in t) return { t: 'set', items: t.set.map(treeReply) };
  return { t: 'map', entries: t.m.map(([k, v]) => [treeReply(k), treeReply(v)] as const) };
}

const META: ReadonlyMap<string, CommandMeta> = new Map(
  REDIS_COMMAND_META.flatMap((m) => [[m.name, m] as const, ...m.subcommands.map((s) => [s.name, s] as const)]),
);

export function redisMeta(fullName: string): CommandMeta | undefined {
  return META.get(fullName);
}

// ---- key specs -----------------------------------------------------------------------------

/** Key-spec flags in the order Redis lists them (addReplyFlagsForKeyArgs). */
const KEY_FLAG_ORDER = ['RO', 'RW', 'OW', 'RM', 'access', 'update', 'insert', 'delete', 'not_key', 'incomplete', 'variable_flags'];

interface KeySpec {
  readonly flags: readonly string[];
  readonly begin: { readonly index: number } | { readonly keyword: string; readonly startfrom: number } | null;
  readonly find: { readonly lastkey: number; readonly keystep: number; readonly limit: number } | { readonly keynumidx: number; readonly firstkey: number; readonly keystep: number } | null;
}

function mapOf(t: Tree): Map<string, Tree> {
  const out = new Map<string, Tree>();
  if (t !== null && typeof t === 'object' && 'm' in t) for (const [k, v] of t.m) out.set(String(k), v);
  return out;
}

function listOf(t: Tree | undefined): readonly Tree[] {
  if (t === null || t === undefined || typeof t !== 'object') return [];
  if ('set' in t) return t.set;
  if ('a' in t) return t.a;
  return [];
}

function parseKeySpecs(t: Tree): KeySpec[] {
  return listOf(t).map((specTree) => {
    const spec = mapOf(specTree);
    const flags = listOf(spec.get('flags')).map((f) => (typeof f === 'object' && f !== null && 's' in f ? f.s : String(f)));
    const bs = mapOf(spec.get('begin_search') ?? null);
    const bsSpec = mapOf(bs.get('spec') ?? null);
    const fk = mapOf(spec.get('find_keys') ?? null);
    const fkSpec = mapOf(fk.get('spec') ?? null);
    const n = (m: Map<string, Tree>, k: string): number => Number(m.get(k) ?? 0);
    const begin =
      bs.get('type') === 'index' ? { index: n(bsSpec, 'index') } : bs.get('type') === 'keyword' ? { keyword: String(bsSpec.get('keyword')), startfrom: n(bsSpec, 'startfrom') } : null;
    const find =
      fk.get('type') === 'range'
        ? { lastkey: n(fkSpec, 'lastkey'), keystep: n(fkSpec, 'keystep'), limit: n(fkSpec, 'limit') }
        : fk.get('type') === 'keynum'
          ? { keynumidx: n(fkSpec, 'keynumidx'), firstkey: n(fkSpec, 'firstkey'), keystep: n(fkSpec, 'keystep') }
          : null;
    return { flags, begin, find };
  });
}

const SPECS = new Map<string, KeySpec[]>();
function keySpecsOf(meta: CommandMeta): KeySpec[] {
  let s = SPECS.get(meta.name);
  if (s === undefined) SPECS.set(meta.name, (s = parseKeySpecs(meta.keySpecs)));
  return s;
}

interface KeyRef {
  readonly pos: number;
  readonly flags: readonly string[];
}

const lowerEq = (b: Buffer, s: string): boolean => b.toString('latin1').toLowerCase() === s.toLowerCase();

/** db.c getKeysUsingKeySpecs: the keys the specs find, or null where a spec cannot (Redis's -1). */
function keysBySpecs(specs: readonly KeySpec[], argv: readonly Buffer[]): KeyRef[] | null {
  const argc = argv.length;
  const out: KeyRef[] = [];
  for (const spec of specs) {
    if (spec.flags.includes('not_key')) continue;
    let first = 0;
    if (spec.begin === null) return null;
    if ('index' in spec.begin) first = spec.begin.index;
    else {
      const { keyword, startfrom } = spec.begin;
      const start = startfrom > 0 ? startfrom : argc + startfrom;
      const end = startfrom > 0 ? argc - 1 : 1;
      for (let i = start; i !== end; i = start <= end ? i + 1 : i - 1) {
        if (i >= argc || i < 1) break;
        if (lowerEq(argv[i]!, keyword)) {
          first = i + 1;
          break;
        }
      }
      if (first === 0) continue;
    }
    let last: number;
    let step: number;
    if (spec.find === null) return null;
    if ('lastkey' in spec.find) {
      step = spec.find.keystep;
      if (spec.find.lastkey >= 0) last = first + spec.find.lastkey;
      else if (spec.find.limit === 0) last = argc + spec.find.lastkey;
      else last = first + (Math.trunc((argc - first) / spec.find.limit) + spec.find.lastkey);
    } else {
      step = spec.find.keystep;
      if (spec.find.keynumidx >= argc) return null;
      const numkeys = first + spec.find.keynumidx < argc ? parseI64(argv[first + spec.find.keynumidx]!) : null;
      if (numkeys === null || numkeys < 0n) return null;
      first += spec.find.firstkey;
      last = first + Number(numkeys) - 1;
    }
    if (last >= argc || last < first || first >= argc) return null;
    for (let i = first; i <= last; i += step) out.push({ pos: i, flags: spec.flags });
    if (spec.flags.includes('incomplete')) return null;
  }
  return out;
}

const ORDERED = (flags: readonly string[]): string[] => KEY_FLAG_ORDER.filter((f) => flags.includes(f));

/** The getkeys procedures (db.c) of the commands whose specs do not find every key. */
const GETKEYS_PROCS: Readonly<Record<string, (argv: readonly Buffer[]) => KeyRef[]>> = {
  sort: (argv) => {
    // sortGetKeys: the sorted key, and the last STORE's destination; LIMIT, GET and BY take arguments.
    const keys: KeyRef[] = [{ pos: 1, flags: ['RO', 'access'] }];
    let store: KeyRef | undefined;
    const skips: Record<string, number> = { limit: 2, get: 1, by: 1 };
    for (let i = 2; i < argv.length; i++) {
      const o = argv[i]!.toString('latin1').toLowerCase();
      if (skips[o] !== undefined) i += skips[o];
      else if (o === 'store' && i + 1 < argv.length) store = { pos: i + 1, flags: ['OW', 'update'] };
    }
    return store ? [...keys, store] : keys;
  },
  // sortROGetKeys: only the sorted key (BY and GET patterns name no key of their own).
  sort_ro: () => [{ pos: 1, flags: ['RO', 'access'] }],
  set: (argv) => {
    // setGetKeys: GET makes SET read the old value.
    for (let i = 3; i < argv.length; i++) if (lowerEq(argv[i]!, 'get')) return [{ pos: 1, flags: ['RW', 'access', 'update'] }];
    return [{ pos: 1, flags: ['OW', 'update'] }];
  },
  bitfield: (argv) => {
    // bitfieldGetKeys: read-only when only GET and OVERFLOW appear.
    let readonly = true;
    for (let i = 2; i < argv.length; i++) {
      const more = argv.length - i - 1;
      const o = argv[i]!.toString('latin1').toLowerCase();
      if (o === 'get' && more >= 2) i += 2;
      else if ((o === 'set' || o === 'incrby') && more >= 3) {
        readonly = false;
        break;
      } else if (o === 'overflow' && more >= 1) i += 1;
      else {
        readonly = false;
        break;
      }
    }
    return [{ pos: 1, flags: readonly ? ['RO', 'access'] : ['RW', 'access', 'update'] }];
  },
};

/**
 * COMMAND GETKEYS / GETKEYSANDFLAGS on `target` (the command and its arguments). `resolve`
 * finds the served command the way Redis's lookupCommand does (a subcommand when the command
 * has them), or undefined.
 */
export function getKeysReply(target: readonly Buffer[], spec: CommandSpec | undefined, withFlags: boolean): Reply {
  if (spec === undefined) return err('ERR Invalid command specified');
  const meta = redisMeta(spec.name);
  const specs = meta ? keySpecsOf(meta) : [];
  const proc = GETKEYS_PROCS[spec.name];
  const hasKeys = proc !== undefined || specs.some((s) => !s.flags.includes('not_key')) || (meta === undefined && spec.firstKey > 0);
  if (!hasKeys) return err('ERR The command has no key arguments');
  const arity = meta?.arity ?? spec.arity;
  const argc = target.length;
  if ((arity > 0 && arity !== argc) || argc < -arity) return err('ERR Invalid number of arguments specified for command');
  let keys: KeyRef[] | null;
  if (meta === undefined) {
    // A command of this server only: its first/last/step.
    const last = spec.lastKey < 0 ? argc + spec.lastKey : spec.lastKey;
    keys = [];
    for (let i = spec.firstKey; i <= last && i < argc; i += Math.max(1, spec.step)) keys.push({ pos: i, flags: [] });
  } else {
    const variable = specs.some((s) => s.flags.includes('variable_flags'));
    keys = variable ? null : keysBySpecs(specs, target);
    if (keys === null && proc !== undefined) keys = proc(target);
  }
  if (keys === null || keys.length === 0) {
    if (keys === null && !(meta?.flags.includes('no_mandatory_keys') ?? false)) return err('ERR Invalid arguments specified for command');
    return arr([]);
  }
  return arr(
    keys.map((k) =>
      withFlags ? arr([bulk(target[k.pos]!), { t: 'set', items: ORDERED(k.flags).map((f) => ({ t: 'simple', s: f }) as const) }]) : bulk(target[k.pos]!),
    ),
  );
}

// ---- INFO and DOCS -------------------------------------------------------------------------

const simple = (s: string): Reply => ({ t: 'simple', s });

/** COMMAND INFO's entry: [name, arity, flags, first, last, step, acl, tips, key specs, subcommands]. */
export function commandInfoReply(s: CommandSpec): Reply {
  const meta = redisMeta(s.name);
  const subs = s.subcommands ?? [];
  const subReply: Reply = subs.length ? arr(subs.map(commandInfoReply)) : { t: 'set', items: [] };
  if (meta) {
    return arr([
      bulk(s.name),
      int(meta.arity),
      { t: 'set', items: meta.flags.map(simple) },
      int(meta.keys[0]!),
      int(meta.keys[1]!),
      int(meta.keys[2]!),
      { t: 'set', items: meta.acl.map(simple) },
      { t: 'set', items: meta.tips.map(treeReply) },
      treeReply(meta.keySpecs),
      subReply,
    ]);
  }
  return arr([
    bulk(s.name),
    int(s.arity),
    { t: 'set', items: s.flags.filter((f) => f !== 'sentinel' && f !== 'only_sentinel').map(simple) },
    int(s.firstKey),
    int(s.lastKey),
    int(s.step),
    { t: 'set', items: (s.acl ?? [`@${s.group}`]).map(simple) },
    { t: 'set', items: [] },
    { t: 'set', items: [] },
    subReply,
  ]);
}

/** COMMAND DOCS's map of one command. */
export function commandDocsReply(s: CommandSpec): Reply {
  const meta = redisMeta(s.name);
  const entries: Array<readonly [Reply, Reply]> = meta
    ? [...(treeReply(meta.docs) as Extract<Reply, { t: 'map' }>).entries]
    : [
        [bulk('summary'), bulk(s.summary)],
        [bulk('since'), bulk(s.since)],
        [bulk('group'), bulk(s.group)],
      ];
  if (s.subcommands?.length) entries.push([bulk('subcommands'), { t: 'map', entries: s.subcommands.map((x) => [bulk(x.name), commandDocsReply(x)] as const) }]);
  return { t: 'map', entries };
}

/** The ACL categories of a served command: Redis's where it has the command, else this server's. */
function aclOf(s: CommandSpec): readonly string[] {
  return redisMeta(s.name)?.acl ?? s.acl ?? [`@${s.group}`];
}

/** COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]. */
export function commandListReply(all: readonly CommandSpec[], argv: readonly Buffer[]): Reply {
  let filter: ((s: CommandSpec) => boolean) | null = null;
  for (let i = 2; i < argv.length; i++) {
    const more = argv.length - 1 - i;
    if (lowerEq(argv[i]!, 'filterby') && more === 2) {
      const kind = argv[i + 1]!.toString('latin1').toLowerCase();
      const arg = argv[i + 2]!;
      // No modules are ever loaded: every MODULE filter matches nothing, as in a Redis without that module.
      if (kind === 'module') filter = () => false;
      else if (kind === 'aclcat') {
        const want = '@' + arg.toString('latin1').toLowerCase();
        filter = (s) => aclOf(s).includes(want);
      } else if (kind === 'pattern') filter = (s) => globMatch(arg, Buffer.from(s.name), true);
      else return err('ERR syntax error');
      i += 2;
    } else return err('ERR syntax error');
  }
  const names: Reply[] = [];
  for (const s of all) {
    for (const x of [s, ...(s.subcommands ?? [])]) if (filter === null || filter(x)) names.push(bulk(x.name));
  }
  return arr(names);
}

/** lookupCommandBySds: "name" or "name|sub", case-insensitive; anything else is no command. */
export function commandByFullName(table: CommandTable, name: string): CommandSpec | undefined {
  const parts = name.toLowerCase().split('|');
  if (parts.length > 2) return undefined;
  const base = table.get(parts[0]!);
  if (parts.length === 1) return base;
  return base?.subcommands?.find((s) => s.name === `${parts[0]}|${parts[1]}`);
}

/** lookupCommand for COMMAND GETKEYS: a subcommand when the command has them and one is given. */
export function commandOfArgv(table: CommandTable, argv: readonly Buffer[]): CommandSpec | undefined {
  const base = table.get(argv[0]!.toString('latin1'));
  if (argv.length === 1 || !base?.subcommands?.length) return base;
  return base.subcommands.find((s) => s.name === `${base.name}|${argv[1]!.toString('latin1').toLowerCase()}`);
}
