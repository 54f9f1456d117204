// The library API: embed an understudy node in a TypeScript program.
//
//   import { startNode, parseConfig } from 'understudy';
//   const n = await startNode(parseConfig({ nodeId: 'n1', dataDir: '/var/lib/us/n1', members, clusterSecret }));
//   n.node.on('failover', (r) => console.log(r));
//   n.node.execute([[Buffer.from('SET'), Buffer.from('k'), Buffer.from('v')]], (replies) => …);
//   await n.stop();
export { startNode, DEMO_KILL_DELAY_MS } from './host/start-node.ts';
export type { StartNodeOptions, StartedNode } from './host/start-node.ts';
export { RuntimeNode, MAX_FAILOVER_REPORTS } from './runtime/node.ts';
export type { CommandObserver, RuntimeNodeOptions } from './runtime/node.ts';
export type {
  FailoverReport,
  InFlightStatus,
  MemberInfo,
  NodeEvents,
  NodeHandle,
  NodeStatus,
  Role,
  SecondaryStatus,
  StatusOptions,
} from './runtime/node-api.ts';
export { configSchema, loadConfig, parseConfig, coreConfigOf, TIMING_DEFAULTS, LIMITS_DEFAULTS } from './config/index.ts';
export type { Config, ConfigInput, MemberConfig, TimingConfig, LimitsConfig, LoadConfigOptions } from './config/index.ts';
export type { Reply } from './core/reply.ts';
export type { Epoch, Lsn, NodeId } from './core/types.ts';
export { UnderstudyError, isUnderstudyError } from './errors.ts';
export type { ErrorCode } from './errors.ts';
