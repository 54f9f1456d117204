// A simulated cluster for scenario tests and the swarm runner: nodes, network,
// one event queue, and helpers to drive them step by step (submit a command,
// run until a condition, crash, restart, partition).
import { type CoreConfig, DEFAULT_LIMITS, DEFAULT_TIMING, type Limits, type MemberSpec, type Timing } from '../src/core/config.ts';
import type { CoreEvent } from '../src/core/ready.ts';
import type { Reply } from '../src/core/reply.ts';
import type { Lsn } from '../src/core/types.ts';
import { Prng } from '../src/lib/prng.ts';
import { EventQueue } from './event-queue.ts';
import { CALM_NETWORK, type NetworkFaults, SimNetwork } from './sim-network.ts';
import { SimNode } from './sim-node.ts';

export interface SimClusterOptions {
  readonly seed: number;
  readonly members?: readonly MemberSpec[];
  readonly timing?: Partial<Timing>;
  readonly limits?: Partial<Limits>;
  readonly faults?: NetworkFaults;
  readonly fsyncLatencyMs?: number;
  readonly mutate?: (cfg: CoreConfig) => CoreConfig;
  readonly onEvent?: (node: SimNode, e: CoreEvent) => void;
}

export const THREE_NODES: readonly MemberSpec[] = [
  { id: 'n1', kind: 'data' },
  { id: 'n2', kind: 'data' },
  { id: 'n3', kind: 'data' },
];

export class SimCluster {
  readonly q = new EventQueue();
  readonly net: SimNetwork;
  readonly nodes: SimNode[] = [];
  readonly events: Array<{ at: number; node: string; e: CoreEvent }> = [];
  errors: Error[] = [];

  constructor(o: SimClusterOptions) {
    const prng = new Prng(o.seed);
    this.net = new SimNetwork(this.q, prng.fork(), o.faults ?? CALM_NETWORK);
    const members = o.members ?? THREE_NODES;
    const timing = { ...DEFAULT_TIMING, ...o.timing };
    const limits = { ...DEFAULT_LIMITS, ...o.limits };
    for (const m of members) {
      const cfg0: CoreConfig = { self: m.id, members, timing, limits, seed: prng.nextU32() };
      this.nodes.push(
        new SimNode(o.mutate ? o.mutate(cfg0) : cfg0, this.q, this.net, prng.fork(), {
          event: (n, e) => {
            this.events.push({ at: this.q.now, node: n.id, e });
            o.onEvent?.(n, e);
          },
          fatal: (n, err) => this.errors.push(new Error(`${n.id}: ${err.message}`)),
        }, o.fsyncLatencyMs ?? 1),
      );
    }
  }

  node(id: string): SimNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  startAll(): void {
    for (const n of this.nodes) this.start(n.id);
  }

  start(id: string): void {
    this.node(id).start((err) => {
      if (err) this.errors.push(err);
    });
  }

  crash(id: string, tear = false): void {
    this.node(id).crash(tear);
  }

  /** The node loses its disk (log, hard state, storage area); start() brings it back empty. */
  loseDisk(id: string): void {
    this.node(id).loseDisk();
  }

  /** The live primary, if exactly one live node believes it is primary with a valid lease. */
  primary(): SimNode | undefined {
    return this.nodes.find((n) => n.up && n.driver!.replica.currentRole === 'primary');
  }

  run(ms: number): void {
    this.q.runUntil(this.q.now + ms);
    this.throwErrors();
  }

  /** Runs until cond() holds (checked after each event) or maxMs passes; returns whether it held. */
  runUntil(cond: () => boolean, maxMs: number): boolean {
    const until = this.q.now + maxMs;
    while (!cond()) {
      if (!this.q.runOne(until)) {
        this.throwErrors();
        return cond();
      }
    }
    this.throwErrors();
    return true;
  }

  private throwErrors(): void {
    if (this.errors.length) throw this.errors[0];
  }

  /** Elects a primary (the calm network makes this quick); returns it. */
  awaitPrimary(maxMs = 3000): SimNode {
    const ok = this.runUntil(() => {
      const p = this.primary();
      return !!p && p.driver!.replica.leaseValid() && p.driver!.replica.commit > 0;
    }, maxMs);
    if (!ok) throw new Error(`no primary within ${maxMs} ms`);
    return this.primary()!;
  }

  /** Submits one command to a node; the returned box fills when the reply arrives. */
  submit(id: string, ...args: string[]): { done: boolean; replies: readonly Reply[]; lsn: Lsn } {
    const box = { done: false, replies: [] as readonly Reply[], lsn: 0 };
    this.node(id).driver!.submit([args.map((a) => Buffer.from(a))], (r, lsn) => {
      box.done = true;
      box.replies = r;
      box.lsn = lsn;
    });
    return box;
  }

  /** Submits and runs until the reply arrives. */
  call(id: string, ...args: string[]): Reply {
    const box = this.submit(id, ...args);
    if (!this.runUntil(() => box.done, 10_000)) throw new Error(`no reply to ${args.join(' ')} from ${id}`);
    return box.replies[0]!;
  }
}

/** Renders a reply as redis-cli would, for assertions. */
export function show(r: Reply): string {
  switch (r.t) {
    case 'simple':
      return r.s;
    case 'error':
      return `(error) ${r.msg}`;
    case 'int':
      return `(integer) ${r.n}`;
    case 'bulk':
      return r.b === null ? '(nil)' : r.b.toString();
    case 'array':
      return r.items === null ? '(nil)' : `[${r.items.map(show).join(', ')}]`;
    default:
      return JSON.stringify(r);
  }
}
