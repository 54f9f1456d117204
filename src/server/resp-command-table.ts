// Command metadata for COMMAND (COUNT / INFO / DOCS / LIST) and for the
// checks done while a MULTI is queueing: the connection-level commands served
// by this layer, merged with the data commands of the executor (src/core/kv).

/** Redis's command description: arity counts the command name (negative = at least). */
export interface CommandSpec {
  readonly name: string; // lower case
  readonly arity: number;
  readonly flags: readonly string[];
  readonly firstKey: number;
  readonly lastKey: number;
  readonly step: number;
  readonly group: string;
  readonly summary: string;
  readonly since: string;
  /** Writes to keys: touches WATCHed keys (used by EXEC's optimistic check). */
  readonly write: boolean;
  /** ACL categories as COMMAND INFO lists them (default: "@" + group). */
  readonly acl?: readonly string[];
  /** Subcommands, e.g. CLIENT LIST, as "client|list". */
  readonly subcommands?: readonly CommandSpec[];
}

function c(
  name: string,
  arity: number,
  flags: string[],
  group: string,
  summary: string,
  since = '1.0.0',
  subcommands?: CommandSpec[],
): CommandSpec {
  return { name, arity, flags, firstKey: 0, lastKey: 0, step: 0, group, summary, since, write: false, ...(subcommands ? { subcommands } : {}) };
}

const sub = (parent: string, name: string, arity: number, flags: string[], summary: string, since = '2.4.0'): CommandSpec =>
  c(`${parent}|${name}`, arity, flags, parent === 'sentinel' ? 'sentinel' : parent === 'slowlog' || parent === 'latency' ? 'server' : 'connection', summary, since);

/** Commands answered by the RESP server itself rather than by the data executor. */
export const CONNECTION_COMMANDS: readonly CommandSpec[] = [
  c('ping', -1, ['fast', 'sentinel'], 'connection', 'Returns the server\'s liveliness response.'),
  c('echo', 2, ['fast'], 'connection', 'Returns the given string.'),
  c('hello', -1, ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'sentinel', 'allow_busy'], 'connection', 'Handshakes with the server.', '6.0.0'),
  c('auth', -2, ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'sentinel', 'allow_busy'], 'connection', 'Authenticates the connection.'),
  c('select', 2, ['loading', 'stale', 'fast'], 'connection', 'Changes the selected database (only 0 exists).'),
  c('quit', -1, ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'], 'connection', 'Closes the connection.'),
  c('reset', 1, ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'], 'connection', 'Resets the connection.', '6.2.0'),
  c('client', -2, ['sentinel'], 'connection', 'A container for client connection commands.', '2.4.0', [
    sub('client', 'setinfo', 4, ['noscript', 'loading', 'stale'], 'Sets information specific to the client or connection.', '7.2.0'),
    sub('client', 'setname', 3, ['noscript', 'loading', 'stale'], 'Sets the connection name.', '2.6.9'),
    sub('client', 'getname', 2, ['noscript', 'loading', 'stale'], 'Returns the name of the connection.', '2.6.9'),
    sub('client', 'id', 2, ['noscript', 'loading', 'stale'], 'Returns the unique client ID of the connection.', '5.0.0'),
    sub('client', 'list', -2, ['admin', 'noscript', 'loading', 'stale'], 'Lists open connections.'),
    sub('client', 'kill', -3, ['admin', 'noscript', 'loading', 'stale'], 'Terminates open connections.'),
    sub('client', 'unblock', -3, ['admin', 'noscript', 'loading', 'stale'], 'Unblocks a client blocked by a blocking command from a different connection.', '5.0.0'),
    sub('client', 'info', 2, ['noscript', 'loading', 'stale'], 'Returns information about the connection.', '6.2.0'),
    sub('client', 'tracking', -3, ['noscript', 'loading', 'stale'], 'Controls server-assisted client-side caching for the connection.', '6.0.0'),
    sub('client', 'caching', 3, ['noscript', 'loading', 'stale'], 'Instructs the server whether to track the keys in the next request.', '6.0.0'),
    sub('client', 'getredir', 2, ['noscript', 'loading', 'stale'], 'Returns the client ID to which the connection\'s tracking notifications are redirected.', '6.0.0'),
    sub('client', 'trackinginfo', 2, ['noscript', 'loading', 'stale'], 'Returns information about server-assisted client-side caching for the connection.', '6.2.0'),
    sub('client', 'reply', 3, ['noscript', 'loading', 'stale'], "Instructs the server whether to reply to commands.", '3.2.0'),
    sub('client', 'pause', -3, ['admin', 'noscript', 'loading', 'stale'], 'Suspends commands processing.', '3.0.0'),
    sub('client', 'unpause', 2, ['admin', 'noscript', 'loading', 'stale'], 'Resumes processing commands from paused clients.', '6.2.0'),
    sub('client', 'no-evict', 3, ['admin', 'noscript', 'loading', 'stale'], 'Sets the client eviction mode of the connection.', '7.0.0'),
    sub('client', 'no-touch', 3, ['noscript', 'loading', 'stale'], 'Controls whether commands sent by the client affect the LRU/LFU of accessed keys.', '7.2.0'),
    sub('client', 'help', 2, ['loading', 'stale'], 'Returns helpful text about the different subcommands.', '5.0.0'),
  ]),
  c('monitor', 1, ['admin', 'noscript', 'loading', 'stale'], 'server', 'Listens for all requests received by the server in real-time.'),
  c('slowlog', -2, [], 'server', 'A container for slow log commands.', '2.2.12', [
    sub('slowlog', 'get', -2, ['admin', 'loading', 'stale'], 'Returns the slow log\'s entries.', '2.2.12'),
    sub('slowlog', 'len', 2, ['admin', 'loading', 'stale'], 'Returns the number of entries in the slow log.', '2.2.12'),
    sub('slowlog', 'reset', 2, ['admin', 'loading', 'stale'], 'Clears all entries from the slow log.', '2.2.12'),
    sub('slowlog', 'help', 2, ['loading', 'stale'], 'Show helpful text about the different subcommands', '6.2.0'),
  ]),
  c('latency', -2, [], 'server', 'A container for latency diagnostics commands.', '2.8.13', [
    sub('latency', 'latest', 2, ['admin', 'noscript', 'loading', 'stale'], 'Returns the latest latency samples for all events.', '2.8.13'),
    sub('latency', 'history', 3, ['admin', 'noscript', 'loading', 'stale'], 'Returns timestamp-latency samples for an event.', '2.8.13'),
    sub('latency', 'reset', -2, ['admin', 'noscript', 'loading', 'stale'], 'Resets the latency data for one or more events.', '2.8.13'),
    sub('latency', 'doctor', 2, ['admin', 'noscript', 'loading', 'stale'], 'Returns a human-readable latency analysis report.', '2.8.13'),
    sub('latency', 'help', 2, ['loading', 'stale'], 'Returns helpful text about the different subcommands.', '2.8.13'),
  ]),
  c('info', -1, ['loading', 'stale', 'sentinel'], 'server', 'Returns information and statistics about the server.'),
  c('role', 1, ['noscript', 'loading', 'stale', 'fast', 'sentinel'], 'server', 'Returns the replication role.', '2.8.12'),
  c('command', -1, ['loading', 'stale', 'sentinel'], 'server', 'Returns detailed information about all commands.', '2.8.13', [
    sub('command', 'count', 2, ['loading', 'stale'], 'Returns a count of commands.', '2.8.13'),
    sub('command', 'info', -2, ['loading', 'stale'], 'Returns information about one, multiple or all commands.', '2.8.13'),
    sub('command', 'docs', -2, ['loading', 'stale'], 'Returns documentary information about one, multiple or all commands.', '7.0.0'),
    sub('command', 'list', -2, ['loading', 'stale'], 'Returns a list of command names.', '7.0.0'),
    sub('command', 'getkeys', -4, ['loading', 'stale'], 'Extracts the key names from an arbitrary command.', '2.8.13'),
    sub('command', 'getkeysandflags', -4, ['loading', 'stale'], 'Extracts the key names and access flags for an arbitrary command.', '7.0.0'),
    sub('command', 'help', 2, ['loading', 'stale'], 'Returns helpful text about the different subcommands.', '5.0.0'),
  ]),
  c('config', -2, [], 'server', 'A container for server configuration commands.', '2.0.0', [
    sub('config', 'get', -3, ['admin', 'noscript', 'loading', 'stale'], 'Returns the effective values of configuration parameters.', '2.0.0'),
    sub('config', 'set', -4, ['admin', 'noscript', 'loading', 'stale'], 'Sets configuration parameters in-flight (those this node can change).', '2.0.0'),
    sub('config', 'resetstat', 2, ['admin', 'noscript', 'loading', 'stale'], 'Resets the server\'s statistics.', '2.0.0'),
    sub('config', 'rewrite', 2, ['admin', 'noscript', 'loading', 'stale'], 'Persists the effective configuration to file (there is none: the configuration is JSON).', '2.8.0'),
    sub('config', 'help', 2, ['loading', 'stale'], 'Returns helpful text about the different subcommands.', '5.0.0'),
  ]),
  c('dbsize', 1, ['readonly', 'fast'], 'server', 'Returns the number of keys in the database.'),
  c('multi', 1, ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], 'transactions', 'Starts a transaction.', '1.2.0'),
  c('exec', 1, ['noscript', 'loading', 'stale', 'skip_slowlog'], 'transactions', 'Executes all commands in a transaction.', '1.2.0'),
  c('discard', 1, ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], 'transactions', 'Discards a transaction.', '2.0.0'),
  c('watch', -2, ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], 'transactions', 'Monitors changes to keys to determine the execution of a transaction.', '2.2.0'),
  c('unwatch', 1, ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], 'transactions', 'Forgets about watched keys of a transaction.', '2.2.0'),
  c('wait', 3, [], 'generic', 'Blocks until the secondaries hold every write of this connection, or the timeout.', '3.0.0'),
  c('sentinel', -2, ['admin', 'sentinel', 'only_sentinel'], 'sentinel', 'Sentinel-compatible discovery of the primary.', '2.8.4', [
    sub('sentinel', 'get-master-addr-by-name', 3, ['admin', 'sentinel'], 'Returns the address of the primary.'),
    sub('sentinel', 'masters', 2, ['admin', 'sentinel'], 'Returns the state of the primary.'),
    sub('sentinel', 'master', 3, ['admin', 'sentinel'], 'Returns the state of the primary.'),
    sub('sentinel', 'replicas', 3, ['admin', 'sentinel'], 'Returns the secondaries.'),
    sub('sentinel', 'slaves', 3, ['admin', 'sentinel'], 'Returns the secondaries.'),
    sub('sentinel', 'sentinels', 3, ['admin', 'sentinel'], 'Returns the other nodes answering Sentinel queries.'),
    sub('sentinel', 'failover', 3, ['admin', 'sentinel'], 'Moves the primary role to the most up-to-date secondary (a switchover).'),
    sub('sentinel', 'myid', 2, ['admin', 'sentinel'], 'Returns the id of this node.'),
    sub('sentinel', 'ckquorum', 3, ['admin', 'sentinel'], 'Checks that the cluster can elect a primary.'),
  ]),
  c('subscribe', -2, ['pubsub', 'noscript', 'loading', 'stale', 'sentinel'], 'pubsub', 'Listens for messages published to channels.', '2.0.0'),
  c('psubscribe', -2, ['pubsub', 'noscript', 'loading', 'stale', 'sentinel'], 'pubsub', 'Listens for messages published to channels that match patterns.', '2.0.0'),
  c('unsubscribe', -1, ['pubsub', 'noscript', 'loading', 'stale', 'sentinel'], 'pubsub', 'Stops listening to messages posted to channels.', '2.0.0'),
  c('punsubscribe', -1, ['pubsub', 'noscript', 'loading', 'stale', 'sentinel'], 'pubsub', 'Stops listening to messages published to channels that match patterns.', '2.0.0'),
  c('ssubscribe', -2, ['pubsub', 'noscript', 'loading', 'stale'], 'pubsub', 'Listens for messages published to shard channels.', '7.0.0'),
  c('sunsubscribe', -1, ['pubsub', 'noscript', 'loading', 'stale'], 'pubsub', 'Stops listening to messages posted to shard channels.', '7.0.0'),
  c('publish', 3, ['pubsub', 'loading', 'stale', 'fast', 'may_replicate', 'sentinel'], 'pubsub', 'Posts a message to a channel (every node of the cluster delivers it).', '2.0.0'),
  c('spublish', 3, ['pubsub', 'loading', 'stale', 'fast', 'may_replicate'], 'pubsub', 'Posts a message to a shard channel (every node of the cluster delivers it).', '7.0.0'),
  c('pubsub', -2, [], 'pubsub', 'A container for Pub/Sub commands.', '2.8.0', [
    c('pubsub|channels', -2, ['pubsub', 'loading', 'stale'], 'pubsub', 'Returns the active channels of this node.', '2.8.0'),
    c('pubsub|numsub', -2, ['pubsub', 'loading', 'stale'], 'pubsub', "Returns a count of this node's subscribers to channels.", '2.8.0'),
    c('pubsub|numpat', 2, ['pubsub', 'loading', 'stale'], 'pubsub', "Returns a count of this node's unique pattern subscriptions.", '2.8.0'),
    c('pubsub|shardchannels', -2, ['pubsub', 'loading', 'stale'], 'pubsub', 'Returns the active shard channels of this node.', '7.0.0'),
    c('pubsub|shardnumsub', -2, ['pubsub', 'loading', 'stale'], 'pubsub', "Returns a count of this node's subscribers to shard channels.", '7.0.0'),
    c('pubsub|help', 2, ['loading', 'stale'], 'pubsub', 'Returns helpful text about the different subcommands.', '6.2.0'),
  ]),
];

/** Name → spec over connection-level and data commands (connection-level wins on a clash). */
export class CommandTable {
  readonly byName: ReadonlyMap<string, CommandSpec>;
  /** Names the data executor implements (the node answers them). */
  readonly dataNames: ReadonlySet<string>;
  constructor(dataCommands: readonly CommandSpec[]) {
    const m = new Map<string, CommandSpec>();
    for (const s of dataCommands) m.set(s.name, s);
    for (const s of CONNECTION_COMMANDS) m.set(s.name, s);
    this.byName = m;
    this.dataNames = new Set(dataCommands.map((s) => s.name));
  }

  get(name: string): CommandSpec | undefined {
    return this.byName.get(name.toLowerCase());
  }

  /** The spec that governs this call: its subcommand's when it has one ("client|kill"), else the command's. */
  specOf(argv: readonly Buffer[]): CommandSpec | undefined {
    const spec = this.get(argv[0]!.toString('latin1'));
    if (!spec?.subcommands || argv.length < 2) return spec;
    const name = `${spec.name}|${argv[1]!.toString('latin1').toLowerCase()}`;
    return spec.subcommands.find((s) => s.name === name) ?? spec;
  }

  /** Whether this call's command (or subcommand) carries one of `flags`. */
  hasFlag(argv: readonly Buffer[], ...flags: readonly string[]): boolean {
    return this.specOf(argv)?.flags.some((f) => flags.includes(f)) ?? false;
  }

  all(): CommandSpec[] {
    return [...this.byName.values()];
  }

  /** Redis's arity rule: exact when positive, a minimum when negative. */
  static arityOk(spec: CommandSpec, argc: number): boolean {
    return spec.arity >= 0 ? argc === spec.arity : argc >= -spec.arity;
  }

  /** The key arguments of a command (by first/last/step), for WATCH invalidation. */
  static keysOf(spec: CommandSpec, argv: readonly Buffer[]): Buffer[] {
    if (spec.firstKey <= 0) return [];
    const last = spec.lastKey < 0 ? argv.length + spec.lastKey : spec.lastKey;
    const step = Math.max(1, spec.step);
    const out: Buffer[] = [];
    for (let i = spec.firstKey; i <= last && i < argv.length; i += step) out.push(argv[i]!);
    return out;
  }
}
