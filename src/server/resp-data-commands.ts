// Adapter from the executor's command table (src/core/kv/command-table.ts) to
// the server's CommandSpec: COMMAND INFO/DOCS, MULTI's queue-time arity checks
// and WATCH invalidation all read the data commands through this.
import { COMMANDS } from '../core/kv/command-table.ts';
import type { CommandSpec } from './resp-command-table.ts';
import { redisMeta, type CommandMeta } from './command-meta.ts';

/** A subcommand of a data container (OBJECT ENCODING…), described as Redis describes it: the executor answers each. */
function subcommandSpec(m: CommandMeta, group: string): CommandSpec {
  return {
    name: m.name,
    arity: m.arity,
    flags: m.flags,
    firstKey: m.keys[0] ?? 0,
    lastKey: m.keys[1] ?? 0,
    step: m.keys[2] ?? 0,
    group,
    summary: '',
    since: '',
    write: m.flags.includes('write'),
    acl: m.acl,
  };
}

export const DATA_COMMANDS: readonly CommandSpec[] = COMMANDS.map((c) => ({
  name: c.name,
  arity: c.arity,
  flags: c.flags,
  firstKey: c.firstKey,
  lastKey: c.lastKey,
  step: c.step,
  group: c.group,
  summary: c.summary,
  since: c.since,
  write: c.flags.includes('write'),
  acl: c.aclCategories,
  ...(redisMeta(c.name)?.subcommands.length ? { subcommands: redisMeta(c.name)!.subcommands.map((m) => subcommandSpec(m, c.group)) } : {}),
}));
