// The `understudy` command line: start one node, bring up a local cluster,
// show the cluster's status, move the primary. Built with commander; every
// command has --help with examples.
import { Command, InvalidArgumentError, Option } from 'commander';
import { isUnderstudyError } from '../errors.ts';
import { runBench } from './bench.ts';
import { runClusterCommand } from './cluster-control.ts';
import { DEFAULT_CLUSTER_DATA, runClusterUp } from './cluster-up.ts';
import { LOG_FORMATS, type LogFormat } from './node-log-lines.ts';
import { DEFAULT_ADMIN_URL, parseAdminUrls } from './admin-client.ts';
import { resolveConfig, runStart } from './start.ts';
import { runStatus, runSwitchover } from './status.ts';

function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}.`);
    return n;
  };
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** Longest `status --watch-seconds` accepted (a week): a bounded watch, not a typo that never ends. */
export const MAX_WATCH_SECONDS = 7 * 24 * 3600;

/** Exit code holder: commands set it; main() returns it. */
export interface ProgramResult {
  code: number;
}

export function buildProgram(result: ProgramResult, io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream } = { out: process.stdout, err: process.stderr }): Command {
  const program = new Command('understudy')
    .description('A replicated key-value store speaking the Redis protocol: every write durably logged on every secondary before OK, sub-second failover.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.out.write(s), writeErr: (s) => io.err.write(s) })
    .exitOverride();
  program.addHelpText(
    'after',
    `
Examples:
  $ understudy cluster up                        three nodes on 127.0.0.1:7001-7003
  $ understudy start --config n1.json            one node of a cluster
  $ understudy status --admin http://127.0.0.1:7301
  $ understudy switchover --to n2 --admin http://127.0.0.1:7301,http://127.0.0.1:7302,http://127.0.0.1:7303

Configuration keys, defaults and environment variables: docs/configuration.md`,
  );

  program
    .command('start')
    .description('Run one node from a configuration file (JSON), environment (UNDERSTUDY_*) and flags, in that order of precedence.')
    .option('-c, --config <file>', 'configuration file (JSON); default: $UNDERSTUDY_CONFIG')
    .option('--node-id <id>', 'this node\'s id (config: nodeId)')
    .option('--data-dir <dir>', 'data directory (config: dataDir)')
    .addOption(new Option('--storage <engine>', 'storage engine (config: storage)').choices(['lmdb', 'memory']))
    .addOption(new Option('--log-level <level>', 'log level (config: logLevel)').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))
    .option('--require-pass <password>', 'clients must AUTH with this (config: requirePass; prefer UNDERSTUDY_REQUIRE_PASS)')
    .option('--demo', 'enable the dashboard\'s demo actions (config: demo)')
    .option('--set <key=value>', 'set any configuration key, e.g. --set timing.heartbeatIntervalMs=50 (repeatable)', collect, [])
    .option('--repair-log', 'a log damaged in the middle (LOG_CORRUPT_RECORD, LOG_GAP between segments): cut it just before the damage and fetch the rest from the primary; only while the other nodes are healthy, one node at a time')
    .addHelpText(
      'after',
      `
Examples:
  $ understudy start --config /etc/understudy/n1.json
  $ understudy start --config /etc/understudy/n1.json --repair-log
  $ UNDERSTUDY_LOG_LEVEL=debug understudy start -c n1.json --set limits.maxClients=2000

Stops cleanly on SIGINT / SIGTERM (exits with code 1 if that takes over 8 s). Started by
\`cluster up\`, it also stops when its supervisor is gone, however that died.`,
    )
    .action(async (opts: { config?: string; nodeId?: string; dataDir?: string; storage?: string; logLevel?: string; requirePass?: string; demo?: boolean; set: string[]; repairLog?: boolean }) => {
      result.code = await runStart(opts);
    });

  program
    .command('init')
    .description('Prepare the data directory of a member of a new cluster, once, before its first start: it then votes and stands at once instead of asking the others what it may have lost.')
    .option('-c, --config <file>', 'configuration file (JSON); default: $UNDERSTUDY_CONFIG')
    .option('--data-dir <dir>', 'data directory (config: dataDir)')
    .addHelpText(
      'after',
      `
Examples:
  $ understudy init --config /etc/understudy/n1.json     on each member of a new cluster, then start them

Refuses a data directory that holds anything. Never init a member whose data directory was
emptied or replaced: start it as it is, and it is refilled from the others (README, "A node loses
its disk"). \`cluster up\` does this itself when no member's directory holds anything yet.`,
    )
    .action(async (opts: { config?: string; dataDir?: string }) => {
      const config = resolveConfig(opts, process.env);
      const { initDataDir } = await import('../host/init-data-dir.ts');
      await initDataDir(config.dataDir);
      io.out.write(`understudy init: ${config.dataDir} is ready for ${config.nodeId}, a member of a new cluster\n`);
    });

  const cluster = program.command('cluster').description('Run a whole cluster on this machine (for trying things out).');
  cluster
    .command('up')
    .description('Start N nodes as child processes with generated configurations; Ctrl-C stops them all.')
    .option('-n, --nodes <n>', 'number of data nodes', intArg('--nodes', 1, 15), 3)
    .option('-p, --base-port <port>', 'first Redis port; peers, sentinels and admin use +100, +200, +300', intArg('--base-port', 1024, 65000), 7001)
    .option('-d, --data <dir>', 'parent directory of the nodes\' data directories (and of the generated configs and logs)', DEFAULT_CLUSTER_DATA)
    .addOption(new Option('--storage <engine>', 'storage engine').choices(['lmdb', 'memory']).default('lmdb'))
    .option('--witness', 'add a data-less witness member (e.g. --nodes 2 --witness)', false)
    .option('--host <ip>', 'address every node listens on', '127.0.0.1')
    .option('--master-name <name>', 'name for Sentinel-aware clients', 'understudy')
    .addOption(new Option('--log-level <level>', 'log level of every node').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'))
    .addOption(new Option('--log-format <format>', 'terminal output: short lines (roles, failovers, warnings) or every node\'s JSON lines; the files <data>/cluster/<id>.log get every line either way').choices([...LOG_FORMATS]).default('pretty'))
    .option('--require-pass <password>', 'clients must AUTH with this')
    .option('--demo', 'enable the dashboard\'s demo actions', false)
    .addHelpText(
      'after',
      `
Examples:
  $ understudy cluster up
  $ understudy cluster up --nodes 5 --base-port 8001 --data /tmp/us --storage memory
  $ understudy cluster up --nodes 2 --witness
  $ understudy cluster up --log-format json

Ports (base 7001, node i = 0,1,…): Redis 7001+i, peers 7101+i, Sentinel 7201+i, admin 7301+i.
A node that exits without being asked to is started again (backoff from 1 s, doubling to 30 s).
Refuses to start when a cluster already runs on the data directory or any of the ports.
While it runs: understudy cluster ps | stop <id> [--kill] | start <id>.`,
    )
    .action(
      async (opts: {
        nodes: number;
        basePort: number;
        data: string;
        storage: 'lmdb' | 'memory';
        witness: boolean;
        host: string;
        masterName: string;
        logLevel: string;
        requirePass?: string;
        demo: boolean;
        logFormat: LogFormat;
      }) => {
        result.code = await runClusterUp(opts, io);
      },
    );

  const dataOption = (c: Command): Command => c.option('-d, --data <dir>', 'the data directory given to `cluster up`', DEFAULT_CLUSTER_DATA);
  const controlHelp = `
Talks to the running \`understudy cluster up\` of that data directory (through the
control port it lists in <data>/cluster/supervisor.json). A node stopped this way
stays down until \`cluster start\`; one that crashes is restarted by itself.

Examples:
  $ understudy cluster ps
  $ understudy cluster stop n2            SIGTERM: a clean stop (a failover if n2 was primary)
  $ understudy cluster stop n2 --kill     SIGKILL: a crash
  $ understudy cluster start n2
  $ understudy cluster stop n1 --data /tmp/us

Exit code 2 when no cluster runs on that data directory.`;
  dataOption(cluster.command('ps'))
    .description('List the members of a running `cluster up`: state, PID, restarts.')
    .addHelpText('after', controlHelp)
    .action(async (opts: { data: string }) => {
      result.code = await runClusterCommand('ps', opts, io);
    });
  dataOption(cluster.command('stop').argument('<id>', 'member id, e.g. n2'))
    .description('Stop one node of a running `cluster up` and keep it down (until `cluster start`).')
    .option('--kill', 'SIGKILL instead of a clean stop: what a crash looks like to the others', false)
    .addHelpText('after', controlHelp)
    .action(async (id: string, opts: { data: string; kill: boolean }) => {
      result.code = await runClusterCommand('stop', { ...opts, id }, io);
    });
  dataOption(cluster.command('start').argument('<id>', 'member id, e.g. n2'))
    .description('Start one stopped node of a running `cluster up` again.')
    .addHelpText('after', controlHelp)
    .action(async (id: string, opts: { data: string }) => {
      result.code = await runClusterCommand('start', { ...opts, id }, io);
    });

  const adminOptions = (c: Command): Command =>
    c
      .option('-a, --admin <urls>', 'admin API URL(s), comma-separated (default: $UNDERSTUDY_ADMIN_URL or ' + DEFAULT_ADMIN_URL + ')')
      .option('--token <token>', 'admin API bearer token (default: $UNDERSTUDY_ADMIN_TOKEN)');
  const adminOf = (o: { admin?: string; token?: string }) => {
    const token = o.token ?? process.env['UNDERSTUDY_ADMIN_TOKEN'];
    return { urls: parseAdminUrls(o.admin ?? process.env['UNDERSTUDY_ADMIN_URL'] ?? DEFAULT_ADMIN_URL), ...(token !== undefined ? { token } : {}) };
  };

  adminOptions(program.command('status'))
    .description('Show every node: role, epoch, log start / applied / end, and each secondary\'s lag.')
    .option('--json', 'print the admin API\'s /cluster reply as JSON', false)
    .option('--watch', 'refresh every second; secondaries catching up or resyncing get a progress bar with rate and ETA', false)
    .option('--watch-seconds <n>', 'stop watching after n seconds', intArg('--watch-seconds', 1, MAX_WATCH_SECONDS))
    .addHelpText(
      'after',
      `
Any node's admin API serves the whole cluster's view; with several URLs the
first that answers is used.

Examples:
  $ understudy status
  $ understudy status --admin http://127.0.0.1:7302,http://127.0.0.1:7303 --json
  $ understudy status --watch

Exit code 2 when some node did not answer.`,
    )
    .action(async (opts: { admin?: string; token?: string; json: boolean; watch: boolean; watchSeconds?: number }) => {
      result.code = await runStatus(
        { ...adminOf(opts), json: opts.json, watch: opts.watch, ...(opts.watchSeconds !== undefined ? { watchSeconds: opts.watchSeconds } : {}) },
        io.out,
      );
    });

  adminOptions(program.command('switchover'))
    .description('Move the primary role to another data node (a planned failover with no lost writes).')
    .option('--to <id>', 'the node to become primary (default: the most up-to-date secondary)')
    .option('--if-primary', 'only if the node of the first --admin URL is the primary (else exit 0): for a stop hook on every node', false)
    .addHelpText(
      'after',
      `
Only the primary carries out a switchover: give every node's admin URL and the
request goes to each in turn until the primary accepts it.

Examples:
  $ understudy switchover --to n2 --admin http://127.0.0.1:7301,http://127.0.0.1:7302,http://127.0.0.1:7303
  $ UNDERSTUDY_ADMIN_URL=http://10.0.0.1:7301,http://10.0.0.2:7301 understudy switchover`,
    )
    .action(async (opts: { admin?: string; token?: string; to?: string; ifPrimary: boolean }) => {
      result.code = await runSwitchover({ ...adminOf(opts), ...(opts.to !== undefined ? { to: opts.to } : {}), ifPrimary: opts.ifPrimary }, io.out);
    });

  program
    .command('bench')
    .description('Measure throughput and latency of a running cluster (closed-loop clients, one connection each).')
    .option('--host <ip>', 'address of the node to load', '127.0.0.1')
    .option('-p, --port <port>', 'Redis port of the primary', intArg('--port', 1, 65535), 7001)
    .option('-c, --clients <list>', 'comma-separated client counts, one run each', (v) => v.split(',').map(intArg('--clients', 1, 10_000)), [1, 16, 64])
    .option('-P, --pipeline <n>', 'commands sent together per round trip on each connection', intArg('--pipeline', 1, 1024), 1)
    .option('-s, --seconds <n>', 'length of each run', intArg('--seconds', 1, 3600), 5)
    .option('-t, --tests <list>', 'comma-separated: set, get', (v) => v.split(',').map((t) => {
      if (t !== 'set' && t !== 'get') throw new InvalidArgumentError(`unknown test "${t}": use set, get or set,get.`);
      return t;
    }), ['set'])
    .option('-d, --value-bytes <n>', 'value size in bytes', intArg('--value-bytes', 1, 1 << 20), 100)
    .option('-r, --keyspace <n>', 'number of distinct keys', intArg('--keyspace', 1, 1e9), 100_000)
    .addHelpText(
      'after',
      `
Examples:
  $ understudy bench --port 7001                         SET at 1, 16 and 64 clients, 5 s each
  $ understudy bench --port 7002 -t set,get -c 64 -P 16  pipelined, 16 commands per round trip

The node must be the primary for SET (a secondary answers READONLY).
Exit code 1 when any operation failed.`,
    )
    .action(async (opts: { host: string; port: number; clients: number[]; pipeline: number; seconds: number; tests: Array<'set' | 'get'>; valueBytes: number; keyspace: number }) => {
      result.code = await runBench(
        { host: opts.host, port: opts.port, clients: opts.clients, pipeline: opts.pipeline, seconds: opts.seconds, ops: opts.tests, valueBytes: opts.valueBytes, keyspace: opts.keyspace },
        io.out,
      );
    });

  return program;
}

/** Parses argv (without node and script), runs the command, returns the exit code. */
export async function runCli(argv: readonly string[], io?: { out: NodeJS.WritableStream; err: NodeJS.WritableStream }): Promise<number> {
  const result: ProgramResult = { code: 0 };
  const err = io?.err ?? process.stderr;
  const program = buildProgram(result, io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return result.code;
  } catch (e) {
    const ce = e as { code?: string; exitCode?: number };
    if (typeof ce.code === 'string' && ce.code.startsWith('commander.')) {
      // Help and version exit 0; usage errors were already printed by commander.
      return ce.exitCode ?? 1;
    }
    if (isUnderstudyError(e, 'CONFIG_INVALID') || isUnderstudyError(e, 'DATA_DIR_NOT_EMPTY')) {
      err.write(`understudy: ${e.message}\n`);
      return 2;
    }
    err.write(`understudy: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
