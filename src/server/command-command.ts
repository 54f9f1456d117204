// COMMAND and its subcommands (Redis 7.0's server.c commandCommand and friends), over the
// commands this port serves; what each says of a command comes from command-meta.ts.
import { arr, bulk, err, int, type Reply } from '../core/reply.ts';
import { commandByFullName, commandDocsReply, commandInfoReply, commandListReply, commandOfArgv, getKeysReply } from './command-meta.ts';
import type { CommandSpec, CommandTable } from './resp-command-table.ts';

const COMMAND_HELP = [
  '(no subcommand)',
  '    Return details about all Redis commands.',
  'COUNT',
  '    Return the total number of commands in this Redis server.',
  'LIST',
  '    Return a list of all commands in this Redis server.',
  'INFO [<command-name> ...]',
  '    Return details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'DOCS [<command-name> ...]',
  '    Return documentation details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'GETKEYS <full-command>',
  '    Return the keys from a full Redis command.',
  'GETKEYSANDFLAGS <full-command>',
  '    Return the keys and the access flags from a full Redis command.',
];

/** Redis's addReplyHelp: a header naming the command as sent (upper-cased), the lines, and HELP. */
export function helpReply(commandAsSent: Buffer, lines: readonly string[]): Reply {
  const simple = (s: string): Reply => ({ t: 'simple', s });
  return arr([
    simple(`${commandAsSent.toString('latin1').toUpperCase()} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`),
    ...lines.map(simple),
    simple('HELP'),
    simple('    Prints this help.'),
  ]);
}

/** COMMAND [COUNT | LIST … | INFO … | DOCS … | GETKEYS … | GETKEYSANDFLAGS … | HELP] on the commands of `served`. */
export function commandCommand(table: CommandTable, served: readonly CommandSpec[], argv: readonly Buffer[]): Reply {
  if (argv.length === 1) return arr(served.map(commandInfoReply));
  const sub = argv[1]!.toString('latin1').toLowerCase();
  const names = argv.slice(2).map((b) => b.toString('latin1'));
  const servedNames = new Set(served.map((s) => s.name));
  /** Served: the command, or the parent of the subcommand, is one this port answers. */
  const ours = (s: CommandSpec | undefined): CommandSpec | undefined => (s && servedNames.has(s.name.split('|')[0]!) ? s : undefined);
  const find = (name: string): CommandSpec | undefined => ours(commandByFullName(table, name));
  switch (sub) {
    case 'count':
      return int(served.length);
    case 'list':
      return commandListReply(served, argv);
    case 'info':
      if (names.length === 0) return arr(served.map(commandInfoReply));
      return arr(names.map((n) => find(n)).map((s) => (s ? commandInfoReply(s) : { t: 'null' })));
    case 'docs': {
      const chosen = names.length === 0 ? served : names.map(find).filter((s) => s !== undefined);
      return { t: 'map', entries: chosen.map((s) => [bulk(s.name), commandDocsReply(s)] as const) };
    }
    case 'getkeys':
    case 'getkeysandflags': {
      const target = argv.slice(2);
      return getKeysReply(target, ours(commandOfArgv(table, target)), sub === 'getkeysandflags');
    }
    case 'help':
      return helpReply(argv[0]!, COMMAND_HELP);
    default:
      return err(`ERR unknown subcommand '${argv[1]!.toString('utf8', 0, 128)}'. Try COMMAND HELP.`);
  }
}
