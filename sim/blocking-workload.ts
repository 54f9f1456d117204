// The blocking-pop part of the simulator's workload: pushers put uniquely tagged elements into
// a few lists and a sorted set, and poppers wait for them in BLPOP BRPOP BLMOVE BLMPOP BZPOPMIN
// BZMPOP with timeouts (0 = forever among them), through the server's own blocking registry
// (src/server/blocking.ts) driven by the simulated clock and the driver's written-keys report.
// A popper is a client of whichever node is primary; when that node crashes or steps down, its
// registry goes, as the server closes every client then, and the popper reconnects.
//
// What it checks, beyond the identical-replicas invariant that compares every list and sorted
// set: no element is handed out by two answered pops, every element handed out was pushed, and
// no pop answers an error a correct command cannot get.
import type { Reply } from '../src/core/reply.ts';
import type { Clock } from '../src/ports/clock.ts';
import type { Prng } from '../src/lib/prng.ts';
import type { NodeEvents } from '../src/runtime/node-api.ts';
import { BlockingRegistry, type BlockingClient, type WrittenSource } from '../src/server/blocking.ts';
import type { EventQueue } from './event-queue.ts';
import type { SimNode } from './sim-node.ts';

/** Clients of each kind. */
export const BLOCKING_PUSHERS = 2;
export const BLOCKING_POPPERS = 3;
/** Timeouts the poppers draw from, seconds as sent ('0': wait for ever). */
const TIMEOUTS = ['0', '0.02', '0.2'];
const LISTS = ['bq:0', 'bq:1'];
const ZSET = 'bz:0';
/** Where BLMOVE puts what it takes: nothing pops from it, so an element there is never handed out again. */
const DONE = 'bq:done';

interface Registry {
  readonly node: SimNode;
  readonly incarnation: number;
  readonly epoch: number;
  readonly registry: BlockingRegistry;
  listener: NodeEvents['written'] | null;
  /** Poppers waiting on this registry: told when it goes (their connection closed). */
  readonly waiting: Set<() => void>;
}

export interface BlockingWorkloadHost {
  readonly q: EventQueue;
  /** The node that is primary now, if any. */
  primary(): SimNode | undefined;
  clock(node: SimNode): Clock;
  /** Whether the run still adds load. */
  active(): boolean;
  violation(e: Error): void;
}

export class BlockingWorkload {
  private current: Registry | null = null;
  private readonly pushed = new Set<string>();
  private readonly delivered = new Set<string>();
  private nextClientId = 1;
  /** Pops answered with an element, for the run's summary. */
  served = 0;

  constructor(
    private readonly prng: Prng,
    private readonly host: BlockingWorkloadHost,
  ) {}

  start(): void {
    for (let i = 0; i < BLOCKING_PUSHERS; i++) this.host.q.schedule(60 + this.prng.float() * 20, () => this.push(`b${i}`, 0));
    for (let i = 0; i < BLOCKING_POPPERS; i++) {
      const id = this.nextClientId++;
      this.host.q.schedule(55 + this.prng.float() * 20, () => this.pop(id));
    }
  }

  /** The driver of `node` reports written keys (SimNodeHooks.written). */
  onWritten(node: SimNode, keys: readonly Buffer[]): void {
    const r = this.registryFor(node);
    if (r && r === this.current) r.listener?.(keys);
  }

  /** The registry of the node that is primary now: a new one after a crash, a restart or a new epoch. */
  private registryFor(node: SimNode | undefined): Registry | null {
    const c = this.current;
    const live = (r: Registry): boolean =>
      r.node.up && r.node.incarnation === r.incarnation && r.node.driver!.replica.currentRole === 'primary' && r.node.driver!.replica.currentEpoch === r.epoch;
    if (c && !live(c)) {
      // The server closes every client connection when its node stops being primary.
      this.current = null;
      for (const closed of [...c.waiting]) closed();
    }
    if (!node || !node.up || node.driver!.replica.currentRole !== 'primary') return this.current;
    if (this.current?.node === node) return this.current;
    const source: WrittenSource = {
      on: (_e, l) => (r.listener = l),
      off: () => (r.listener = null),
    };
    const r: Registry = {
      node,
      incarnation: node.incarnation,
      epoch: node.driver!.replica.currentEpoch,
      registry: new BlockingRegistry(source, this.host.clock(node)),
      listener: null,
      waiting: new Set(),
    };
    node.driver!.reportWrittenKeys = true;
    this.current = r;
    return r;
  }

  private push(tag: string, seq: number): void {
    if (!this.host.active()) return;
    const node = this.host.primary();
    // Also notices a primary that is gone, so that poppers waiting on it reconnect.
    this.registryFor(node);
    if (node) {
      const roll = this.prng.float();
      const el = `${tag}-${seq}`;
      const list = this.prng.pick(LISTS);
      const cmd =
        roll < 0.4 ? ['RPUSH', list, el, `${el}b`] : roll < 0.75 ? ['LPUSH', list, el] : ['ZADD', ZSET, String(this.prng.int(-5, 5)), el, String(this.prng.int(0, 9)), `${el}b`];
      this.pushed.add(el);
      this.pushed.add(`${el}b`);
      node.driver!.submit([cmd.map((a) => Buffer.from(a))], (replies) => this.checkError(cmd, replies[0]!));
    }
    this.host.q.schedule(1 + this.prng.float() * 6, () => this.push(tag, seq + 1));
  }

  private pop(id: number): void {
    if (!this.host.active()) return;
    const r = this.registryFor(this.host.primary());
    if (!r) {
      this.host.q.schedule(5 + this.prng.float() * 10, () => this.pop(id));
      return;
    }
    const t = this.prng.pick(TIMEOUTS);
    const [a, b] = [this.prng.pick(LISTS), this.prng.pick(LISTS)];
    const cmd = this.prng.pick([
      ['BLPOP', a, b, t],
      ['BRPOP', a, t],
      ['BLMOVE', a, DONE, this.prng.chance(0.5) ? 'LEFT' : 'RIGHT', 'LEFT', t],
      ['BLMPOP', t, '2', a, b, this.prng.chance(0.5) ? 'LEFT' : 'RIGHT', 'COUNT', String(this.prng.int(1, 3))],
      ['BZPOPMIN', ZSET, t],
      ['BZPOPMAX', ZSET, t],
      ['BZMPOP', t, '1', ZSET, 'MIN', 'COUNT', '2'],
    ]);
    const node = r.node;
    const inc = node.incarnation;
    const client: BlockingClient = {
      id,
      executeOnNode: (cmds, cb) => {
        if (node.up && node.incarnation === inc) node.driver!.submit(cmds, (replies) => cb(replies as Reply[]));
      },
    };
    let over = false;
    const again = (): void => {
      if (over) return;
      over = true;
      r.waiting.delete(closed);
      this.host.q.schedule(this.prng.float() * 3, () => this.pop(id));
    };
    const closed = (): void => {
      r.registry.drop(client);
      again();
    };
    r.waiting.add(closed);
    r.registry.start(client, cmd[0]!.toLowerCase(), cmd.map((s) => Buffer.from(s)), (reply) => {
      if (over) return;
      this.checkError(cmd, reply);
      for (const el of elementsOf(cmd[0]!, reply)) {
        if (!this.pushed.has(el)) this.host.violation(new Error(`blocking pops: ${cmd.join(' ')} handed out ${el}, which no client pushed`));
        // The earlier pop's removal, acknowledged, is not in the state: invariant 1.
        if (this.delivered.has(el)) this.host.violation(new Error(`invariant 1: an acknowledged pop was lost: ${cmd.join(' ')} handed out ${el}, which an earlier answered pop had handed out`));
        this.delivered.add(el);
        this.served++;
      }
      again();
    });
  }

  /** A reply a correct command never gets (timeouts and refusals during failover are expected). */
  private checkError(cmd: readonly string[], r: Reply): void {
    if (r.t === 'error' && /^(WRONGTYPE|ERR (syntax|value|wrong number|unknown|timeout|numkeys|count))/.test(r.msg)) this.host.violation(new Error(`${cmd.join(' ')} answered ${r.msg}`));
  }
}

/** The elements (list values, sorted-set members) an answered blocking pop handed out. */
function elementsOf(name: string, r: Reply): string[] {
  const s = (x: Reply | undefined): string => (x && x.t === 'bulk' && x.b ? x.b.toString('latin1') : '');
  if (r.t === 'bulk') return r.b ? [r.b.toString('latin1')] : [];
  if (r.t !== 'array' || r.items === null) return [];
  const items = r.items;
  switch (name) {
    case 'BLPOP':
    case 'BRPOP':
    case 'BZPOPMIN':
    case 'BZPOPMAX':
      return [s(items[1])];
    case 'BLMPOP': {
      const list = items[1];
      return list && list.t === 'array' && list.items ? list.items.map(s) : [];
    }
    case 'BZMPOP': {
      const pairs = items[1];
      return pairs && pairs.t === 'array' && pairs.items ? pairs.items.map((p) => (p.t === 'array' && p.items ? s(p.items[0]) : '')) : [];
    }
    default:
      return [];
  }
}
