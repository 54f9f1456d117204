// Adapter from the executor's command table (src/core/kv/command-table.ts) to
// the server's CommandSpec: COMMAND INFO/DOCS, MULTI's queue-time arity checks
// and WATCH invalidation all read the data commands through this.
import { COMMANDS } from '../core/kv/command-table.ts';
import type { CommandSpec } from './resp-command-table.ts';

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
}));
