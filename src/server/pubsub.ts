// Pub/sub of one RESP server: who subscribes to which channel, pattern and shard
// channel, and the commands over it (SUBSCRIBE PSUBSCRIBE SSUBSCRIBE, their
// UNSUBSCRIBEs, PUBLISH SPUBLISH, PUBSUB …) with Redis 7.0's replies in RESP2
// and RESP3. The same registry serves the data port (messages from any node of
// the cluster, keyspace notifications, tracking redirects) and the sentinel
// port (+switch-master): only what feeds it differs.
//
// Channels are kept as latin1 strings of their bytes, so any binary channel
// name round-trips exactly.
import { arr, bulk, err, int, type Reply } from '../core/reply.ts';
import { globMatch } from '../core/kv/glob.ts';
import { MAX_FRAME_BYTES } from '../codec/frame.ts';
import type { Connection, Handler, Out } from './resp-connection.ts';
import { encodePush } from './resp-codec.ts';

/** The three kinds of subscription Redis keeps per client. */
export type SubKind = 'channel' | 'pattern' | 'shard';

/**
 * Largest channel plus message a PUBLISH may carry: it must fit one peer frame to reach the
 * other nodes (with room for the frame's fields). Redis's own bound is proto-max-bulk-len.
 */
export const MAX_PUBLISH_BYTES = MAX_FRAME_BYTES - 64 * 1024;

/** Carries a message to the cluster's other nodes (the node's peer channel); absent for a lone server. */
export type PublishRelay = (shard: boolean, channel: Buffer, message: Buffer) => void;

const key = (b: Buffer): string => b.toString('latin1');
const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');
const push = (items: Reply[]): Out => ({ t: 'push', items });

/** Redis's PUBSUB HELP text (7.0). */
const PUBSUB_HELP = [
  'PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CHANNELS [<pattern>]',
  "    Return the currently active channels matching a <pattern> (default: '*').",
  'NUMPAT',
  '    Return number of subscriptions to patterns.',
  'NUMSUB [<channel> ...]',
  '    Return the number of subscribers for the specified channels, excluding',
  '    pattern subscriptions(default: no channels).',
  'SHARDCHANNELS [<pattern>]',
  "    Return the currently active shard level channels matching a <pattern> (default: '*').",
  'SHARDNUMSUB [<shardchannel> ...]',
  '    Return the number of subscribers for the specified shard level channel(s)',
  'HELP',
  '    Prints this help.',
];

export class PubSubRegistry {
  /** channel / pattern / shard channel → its subscribers, in subscription order. */
  private readonly subs: Record<SubKind, Map<string, Set<Connection>>> = { channel: new Map(), pattern: new Map(), shard: new Map() };

  constructor(private readonly relay?: PublishRelay) {}

  /** Redis's clientSubscriptionsCount: channels and patterns (shard channels count on their own). */
  static count(c: Connection): number {
    return c.channels.size + c.patterns.size;
  }

  static subscribed(c: Connection): boolean {
    return c.channels.size + c.patterns.size + c.shardChannels.size > 0;
  }

  private setOf(c: Connection, kind: SubKind): Set<string> {
    return kind === 'channel' ? c.channels : kind === 'pattern' ? c.patterns : c.shardChannels;
  }

  /** Adds one subscription; false if the connection had it already. */
  add(c: Connection, kind: SubKind, name: Buffer): boolean {
    const k = key(name);
    const own = this.setOf(c, kind);
    if (own.has(k)) return false;
    own.add(k);
    const m = this.subs[kind];
    let set = m.get(k);
    if (!set) m.set(k, (set = new Set()));
    set.add(c);
    return true;
  }

  /** Removes one subscription; false if the connection did not have it. */
  remove(c: Connection, kind: SubKind, k: string): boolean {
    const own = this.setOf(c, kind);
    if (!own.delete(k)) return false;
    const m = this.subs[kind];
    const set = m.get(k);
    set?.delete(c);
    if (set?.size === 0) m.delete(k);
    return true;
  }

  /** Drops every subscription of a connection (it closed, or RESET). */
  dropAll(c: Connection): void {
    for (const kind of ['channel', 'pattern', 'shard'] as const) for (const k of [...this.setOf(c, kind)]) this.remove(c, kind, k);
  }

  /**
   * Delivers a message to this server's subscribers: channel subscribers first, then matching
   * patterns, as Redis does. Pushes for `self` (a client publishing to itself) are returned rather
   * than queued, so that they precede its PUBLISH reply as in Redis. Returns the receiver count.
   */
  deliver(shard: boolean, channel: Buffer, message: Buffer, self?: Connection): { count: number; own: Out[] } {
    const own: Out[] = [];
    let count = 0;
    // Encoded once per protocol, not once per subscriber.
    const send = (set: Iterable<Connection>, items: Reply[]): void => {
      const frames: Array<Buffer | undefined> = [];
      for (const c of set) {
        count++;
        if (c === self) own.push(push(items));
        else c.deliverEncoded((frames[c.proto] ??= encodePush(items, c.proto)));
      }
    };
    const subscribers = this.subs[shard ? 'shard' : 'channel'].get(key(channel));
    if (subscribers) send(subscribers, [bulk(shard ? 'smessage' : 'message'), bulk(channel), bulk(message)]);
    if (!shard)
      for (const [p, set] of this.subs.pattern) {
        if (globMatch(bytes(p), channel)) send(set, [bulk('pmessage'), bulk(bytes(p)), bulk(channel), bulk(message)]);
      }
    return { count, own };
  }

  /** PUBLISH / SPUBLISH: here, and to every other node of the cluster through the relay. */
  publish(shard: boolean, channel: Buffer, message: Buffer, self?: Connection): { count: number; own: Out[] } {
    this.relay?.(shard, channel, message);
    return this.deliver(shard, channel, message, self);
  }

  /** INFO's pubsub_channels, pubsub_patterns and pubsubshard_channels. */
  get sizes(): { channels: number; patterns: number; shardChannels: number } {
    return { channels: this.subs.channel.size, patterns: this.subs.pattern.size, shardChannels: this.subs.shard.size };
  }

  /** Whether anyone here subscribes to exactly this channel (cheap check before building a message). */
  hasChannel(channel: string): boolean {
    return this.subs.channel.has(channel);
  }

  /** Whether any subscription here could receive a message on a channel (used to skip work). */
  get active(): boolean {
    return this.subs.channel.size + this.subs.pattern.size > 0;
  }

  /** The subscribe / unsubscribe commands over this registry, and with `publish` PUBLISH, SPUBLISH, PUBSUB and the shard subscriptions. */
  handlers(opts: { publish: boolean }): Map<string, Handler> {
    const h = new Map<string, Handler>();
    const subscribe =
      (kind: SubKind, name: string): Handler =>
      (c, argv, done) => {
        const outs: Out[] = [];
        for (const ch of argv.slice(1)) {
          this.add(c, kind, ch);
          outs.push(push([bulk(name), bulk(ch), int(kind === 'shard' ? c.shardChannels.size : PubSubRegistry.count(c))]));
        }
        done({ t: 'seq', outs });
      };
    const unsubscribe =
      (kind: SubKind, name: string): Handler =>
      (c, argv, done) => {
        const names = argv.length > 1 ? argv.slice(1).map(key) : [...this.setOf(c, kind)];
        const outs: Out[] = [];
        const countOf = (): number => (kind === 'shard' ? c.shardChannels.size : PubSubRegistry.count(c));
        for (const n of names) {
          this.remove(c, kind, n);
          outs.push(push([bulk(name), bulk(bytes(n)), int(countOf())]));
        }
        if (outs.length === 0) outs.push(push([bulk(name), bulk(null), int(countOf())]));
        done({ t: 'seq', outs });
      };
    h.set('subscribe', subscribe('channel', 'subscribe'));
    h.set('psubscribe', subscribe('pattern', 'psubscribe'));
    h.set('unsubscribe', unsubscribe('channel', 'unsubscribe'));
    h.set('punsubscribe', unsubscribe('pattern', 'punsubscribe'));
    // A Sentinel port serves subscriptions only; publishing and shard channels are the data port's.
    if (!opts.publish) return h;
    h.set('ssubscribe', subscribe('shard', 'ssubscribe'));
    h.set('sunsubscribe', unsubscribe('shard', 'sunsubscribe'));
    const publish =
      (shard: boolean): Handler =>
      (c, argv, done) => {
        const channel = argv[1]!;
        const message = argv[2]!;
        if (channel.length + message.length > MAX_PUBLISH_BYTES)
          return done(
            err(
              `ERR message too large to reach the other nodes: channel and message are ${channel.length + message.length} bytes, more than one peer frame holds (MAX_PUBLISH_BYTES = ${MAX_PUBLISH_BYTES}); publish smaller messages`,
            ),
          );
        const { count, own } = this.publish(shard, channel, message, c);
        done(own.length === 0 ? int(count) : { t: 'seq', outs: [...own, int(count)] });
      };
    h.set('publish', publish(false));
    h.set('spublish', publish(true));
    h.set('pubsub', (_c, argv, done) => done(this.pubsubCommand(argv)));
    return h;
  }

  /** PUBSUB CHANNELS | NUMSUB | NUMPAT | SHARDCHANNELS | SHARDNUMSUB | HELP: this node's subscriptions. */
  private pubsubCommand(argv: readonly Buffer[]): Reply {
    const sub = argv[1]!.toString('latin1').toLowerCase();
    const list = (kind: 'channel' | 'shard'): Reply => {
      if (argv.length > 3)
        return err(`ERR unknown subcommand or wrong number of arguments for '${argv[1]!.toString('utf8')}'. Try PUBSUB HELP.`);
      const pattern = argv[2];
      const out: Reply[] = [];
      for (const k of this.subs[kind].keys()) {
        const ch = bytes(k);
        if (pattern === undefined || globMatch(pattern, ch)) out.push(bulk(ch));
      }
      return arr(out);
    };
    const numsub = (kind: 'channel' | 'shard'): Reply => {
      const out: Reply[] = [];
      for (const ch of argv.slice(2)) out.push(bulk(ch), int(this.subs[kind].get(key(ch))?.size ?? 0));
      return arr(out);
    };
    switch (sub) {
      case 'channels':
        return list('channel');
      case 'shardchannels':
        return list('shard');
      case 'numsub':
        return numsub('channel');
      case 'shardnumsub':
        return numsub('shard');
      case 'numpat':
        return int(this.subs.pattern.size);
      case 'help':
        return arr(PUBSUB_HELP.map((s) => ({ t: 'simple', s })));
      default:
        return err(`ERR unknown subcommand '${argv[1]!.toString('utf8')}'. Try PUBSUB HELP.`);
    }
  }
}
