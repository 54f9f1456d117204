// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT, as Redis 7.0 has them (eval.c, script_lua.c).
// A script runs inside one command: each redis.call executes at once against an Overlay of
// the state its earlier calls produced, and its ops join the command's ops — so a script is
// atomic, replicated as its effects in the update that holds the command, and its reply waits
// for that update's commit like any write's. Nothing of the Lua VM is here: the engine comes in
// through ExecOptions.scripting (src/core/kv/scripting.ts).
//
// The script cache is data: SCRIPT LOAD (and EVAL of a script not yet cached) emits a `script`
// op, so every node learns the script through the log and a new primary knows every sha a
// client loaded (docs/protocol.md, "Scripts").
import { sha1Hex } from '../../lib/sha1.ts';
import { arr, bulk, err, int, OK } from '../reply.ts';
import type { Reply } from '../reply.ts';
import type { Op } from '../types.ts';
import { ALL_REGIONS } from '../regions.ts';
import { opsBytes } from '../log-view.ts';
import { arityOk, lookupCommand } from './command-table.ts';
import { checkWrite } from './arguments.ts';
import type { WriteLimits } from './arguments.ts';
import { parseI64 } from './numbers.ts';
import { Overlay } from './overlay.ts';
import { keyEventsOf } from './key-events.ts';
import { isLive } from './view.ts';
import type { Ctx, Handler } from './context.ts';
import { E_NOT_INT, is } from './context.ts';
import type { ScriptEngine } from './scripting.ts';

/** What a script command needs beyond the plain Ctx. */
export interface ScriptSupport {
  readonly engine: ScriptEngine | undefined;
  /** This node is a secondary: a script may read, but a write gets Redis's READONLY error. */
  readonly replica: boolean;
  readonly limits: WriteLimits;
}

/** Runs one command of a script on `ctx` (name lookup and arity already checked). */
export type ScriptDispatch = (args: readonly Buffer[], ctx: Ctx) => Reply;

const E_NOSCRIPT = 'NOSCRIPT No matching script. Please use EVAL.';
const E_READONLY = "READONLY You can't write against a read only replica.";
const E_NO_ENGINE = 'ERR scripting is not available on this node (no Lua engine was given to the executor)';
/** SCRIPT FLUSH's option (spelled in upper case: the core's purity check reads source words). */
const ASYNC_OPTION = 'ASYNC'.toLowerCase();
/** sha length, as hex. */
const SHA_HEX_LENGTH = 40;

function readonlyOrReplica(c: Ctx, s: ScriptSupport): Reply | null {
  return s.replica ? err(E_READONLY) : null;
}

/** The cached script ops a command may emit: refused on a secondary, which logs nothing. */
function cacheScript(c: Ctx, s: ScriptSupport, sha: string, body: Buffer): Reply | null {
  const key = Buffer.from(sha, 'latin1');
  if (c.view.getScript?.(key) !== undefined) return null;
  const refused = readonlyOrReplica(c, s);
  if (refused) return refused;
  const op: Op = { k: 'script', key, value: body };
  const tooBig = checkWrite([op], s.limits, opsBytes(c.ops));
  if (tooBig) return tooBig;
  c.ops.push(op);
  return null;
}

/** The flags a script may declare in its shebang line ("#!lua flags=no-writes,allow-stale"). */
const SHEBANG_FLAGS = new Set(['no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys']);

interface Source {
  /** What the engine compiles: the body, its shebang line turned into a comment (lines keep their numbers). */
  readonly code: Buffer;
  /** The script declared no-writes: it runs as EVAL_RO does. */
  readonly noWrites: boolean;
}

/** Reads a script's shebang as Redis 7 does (evalExtractShebangFlags), or its error. */
function sourceOf(body: Buffer): Source | Reply {
  if (body.length < 2 || body[0] !== 0x23 || body[1] !== 0x21) return { code: body, noWrites: false };
  const nl = body.indexOf(0x0a);
  const line = body.toString('utf8', 0, nl < 0 ? body.length : nl);
  const parts = line.split(' ').filter((p) => p.length > 0);
  if (parts[0] !== '#!lua') return err(`ERR Unexpected engine in script shebang: ${parts[0] ?? line}`);
  let noWrites = false;
  for (const opt of parts.slice(1)) {
    if (!opt.startsWith('flags=')) return err(`ERR Unknown lua shebang option: ${opt}`);
    for (const f of opt.slice('flags='.length).split(',')) {
      if (f.length === 0) continue;
      if (!SHEBANG_FLAGS.has(f)) return err(`ERR Unexpected flag in script shebang: ${f}`);
      if (f === 'no-writes') noWrites = true;
    }
  }
  return { code: Buffer.concat([Buffer.from('--'), body]), noWrites };
}

function evalGeneric(c: Ctx, a: readonly Buffer[], s: ScriptSupport, dispatch: ScriptDispatch, bySha: boolean, readOnly: boolean): Reply {
  const n = parseI64(a[2]!);
  if (n === null) return err(E_NOT_INT);
  if (n < 0n) return err("ERR Number of keys can't be negative");
  if (n > BigInt(a.length - 3)) return err("ERR Number of keys can't be greater than number of args");
  const engine = s.engine;
  if (!engine) return err(E_NO_ENGINE);
  let sha: string;
  let body: Buffer | undefined;
  let source: Source;
  if (bySha) {
    // Redis lower-cases the sha it is given; anything but 40 characters names no script.
    if (a[1]!.length !== SHA_HEX_LENGTH) return err(E_NOSCRIPT);
    sha = a[1]!.toString('latin1').toLowerCase();
    body = c.view.getScript?.(Buffer.from(sha, 'latin1'));
    if (body === undefined) return err(E_NOSCRIPT);
    const s2 = sourceOf(body);
    if (!('code' in s2)) return s2; // a cached script's shebang was checked when it was cached
    source = s2;
  } else {
    body = a[1]!;
    sha = sha1Hex(body);
    const s2 = sourceOf(body);
    if (!('code' in s2)) return s2;
    source = s2;
    const compileError = engine.compile(sha, source.code);
    if (compileError !== null) return err(compileError);
    // A secondary runs a script it does not hold without caching it (it logs nothing).
    if (!s.replica) {
      const refused = cacheScript(c, s, sha, body);
      if (refused) return refused;
    }
  }
  const numKeys = Number(n);
  const overlay = new Overlay(c.view);
  let wrote = false;
  const call = (argv: Buffer[]): Reply => {
    const cmd = argv[0] === undefined ? undefined : lookupCommand(argv[0]);
    if (!cmd) return serverCommand(c, argv) ?? err('ERR Unknown Redis command called from script');
    if (!arityOk(cmd, argv.length)) return err('ERR Wrong number of args calling Redis command from script');
    // Redis's noscript commands: the scripting commands themselves and the blocking pops of one key list.
    if (cmd.flags.includes('noscript')) return err('ERR This Redis command is not allowed from script');
    if (cmd.flags.includes('write')) {
      if (readOnly || source.noWrites) return err('ERR Write commands are not allowed from read-only scripts.');
      if (s.replica) return err(E_READONLY);
    }
    const child: Ctx = { view: overlay, nowMs: c.nowMs, maxValueBytes: c.maxValueBytes, ops: [], random: c.random, fresh: new Set(), script: s };
    const reply = dispatch(argv, child);
    if (child.ops.length === 0) return reply;
    const refused = checkWrite(child.ops, s.limits, opsBytes(c.ops));
    if (refused) return refused;
    // Its keyspace events, as the executor names them for a command of its own (read before
    // the overlay moves on; the state after is built only if a rule asks).
    let after: Overlay | undefined;
    const events = keyEventsOf(argv, child.ops, (key) => isLive(overlay.get(key), c.nowMs), (key) => {
      if (!after) {
        after = new Overlay(overlay);
        after.applyOps(child.ops);
      }
      return isLive(after.get(key), c.nowMs);
    });
    for (const e of events) c.events?.push({ event: e.event, op: c.ops.length + e.op });
    overlay.applyOps(child.ops);
    for (const op of child.ops) c.ops.push(op);
    wrote = true;
    return reply;
  };
  return engine.run({ sha, body: source.code, keys: a.slice(3, 3 + numKeys), args: a.slice(3 + numKeys), call, random: c.random, wrote: () => wrote });
}

/**
 * The connection and server commands a script may call that are not the executor's (the
 * server answers them outside scripts): PING, ECHO and TIME, as Redis answers them.
 */
function serverCommand(c: Ctx, argv: readonly Buffer[]): Reply | undefined {
  const name = argv[0]!.toString('latin1').toLowerCase();
  const wrongArgs = (): Reply => err('ERR Wrong number of args calling Redis command from script');
  if (name === 'ping') {
    if (argv.length > 2) return wrongArgs();
    return argv.length === 2 ? bulk(argv[1]!) : { t: 'simple', s: 'PONG' };
  }
  if (name === 'echo') return argv.length === 2 ? bulk(argv[1]!) : wrongArgs();
  if (name === 'time') {
    if (argv.length !== 1) return wrongArgs();
    const ms = Math.floor(c.nowMs);
    return arr([bulk(String(Math.floor(ms / 1000))), bulk(String((ms % 1000) * 1000))]);
  }
  return undefined;
}

/** Every cached sha, region by region (SCRIPT FLUSH forgets them one op each). */
function allScripts(c: Ctx): Buffer[] {
  const out: Buffer[] = [];
  for (const r of ALL_REGIONS) for (const [sha] of c.view.regionScripts?.(r, undefined, Infinity) ?? []) out.push(sha);
  return out;
}

function subcommandArity(name: string): Reply {
  return err(`ERR wrong number of arguments for 'script|${name}' command`);
}

function scriptCommand(c: Ctx, a: readonly Buffer[], s: ScriptSupport): Reply {
  const sub = a[1]!.toString('latin1').toLowerCase();
  switch (sub) {
    case 'load': {
      if (a.length !== 3) return subcommandArity(sub);
      const engine = s.engine;
      if (!engine) return err(E_NO_ENGINE);
      const body = a[2]!;
      const sha = sha1Hex(body);
      const source = sourceOf(body);
      if (!('code' in source)) return source;
      const compileError = engine.compile(sha, source.code);
      if (compileError !== null) return err(compileError);
      const refused = cacheScript(c, s, sha, body);
      return refused ?? bulk(sha);
    }
    case 'exists': {
      if (a.length < 3) return subcommandArity(sub);
      const out: Reply[] = [];
      for (let i = 2; i < a.length; i++) {
        const given = a[i]!;
        const known = given.length === SHA_HEX_LENGTH && c.view.getScript?.(Buffer.from(given.toString('latin1').toLowerCase(), 'latin1')) !== undefined;
        out.push(int(known ? 1 : 0));
      }
      return arr(out);
    }
    case 'flush': {
      if (a.length > 3) return subcommandArity(sub);
      if (a.length === 3 && !is(a[2]!, 'sync') && !is(a[2]!, ASYNC_OPTION)) return err('ERR SCRIPT FLUSH only support SYNC|ASYNC option');
      const shas = allScripts(c);
      if (shas.length === 0) return OK;
      const refused = readonlyOrReplica(c, s);
      if (refused) return refused;
      for (const key of shas) c.ops.push({ k: 'script', key, value: null });
      return OK;
    }
    case 'kill':
      if (a.length !== 2) return subcommandArity(sub);
      // A script runs to its end inside one turn of the node's event loop, so no other command
      // is ever read while one runs (docs/commands.md, "Scripts", on lua-time-limit).
      return err('NOTBUSY No scripts in execution right now.');
    case 'help':
      if (a.length !== 2) return subcommandArity(sub);
      return arr(SCRIPT_HELP.map((l) => ({ t: 'simple', s: l })));
    default:
      return err(`ERR unknown subcommand '${a[1]!.toString('utf8')}'. Try SCRIPT HELP.`);
  }
}

const SCRIPT_HELP = [
  'SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'EXISTS <sha1> [<sha1> ...]',
  '    Return information about the existence of the scripts in the script cache.',
  'FLUSH [ASYNC|SYNC]',
  '    Flush the Lua scripts cache. Very dangerous on replicas.',
  '    When called without the optional mode argument, the behavior is determined by the',
  '    lazyfree-lazy-user-flush configuration directive. Valid modes are:',
  '    * ASYNC: Asynchronously flush the scripts cache.',
  '    * SYNC: Synchronously flush the scripts cache.',
  'KILL',
  '    Kill the currently executing Lua script.',
  'LOAD <script>',
  '    Load a script into the scripts cache without executing it.',
  'HELP',
  '    Prints this help.',
];

const NO_SUPPORT: ScriptSupport = { engine: undefined, replica: false, limits: { maxValueBytes: Infinity, maxWriteBytes: Infinity } };

/** The script command handlers; `dispatch` runs a command a script calls (the executor's). */
export function scriptHandlers(dispatch: ScriptDispatch): Array<[string, Handler]> {
  const support = (c: Ctx): ScriptSupport => c.script ?? NO_SUPPORT;
  return [
    ['eval', (c, a) => evalGeneric(c, a, support(c), dispatch, false, false)],
    ['evalsha', (c, a) => evalGeneric(c, a, support(c), dispatch, true, false)],
    ['eval_ro', (c, a) => evalGeneric(c, a, support(c), dispatch, false, true)],
    ['evalsha_ro', (c, a) => evalGeneric(c, a, support(c), dispatch, true, true)],
    ['script', (c, a) => scriptCommand(c, a, support(c))],
  ];
}
