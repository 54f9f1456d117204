// The simulated network: per message a delay drawn from the seed, loss,
// duplication, reordering (independent delays), and partitions, including
// one-way ones. Messages travel encoded and are decoded on arrival, so the
// wire codec is exercised and no object is shared between nodes.
import { decodeMessage, encodeMessage } from '../src/codec/message-codec.ts';
import type { Message } from '../src/core/messages.ts';
import type { NodeId } from '../src/core/types.ts';
import type { Prng } from '../src/lib/prng.ts';
import type { Network, PeerConnectionState } from '../src/ports/network.ts';
import type { EventQueue } from './event-queue.ts';

export interface NetworkFaults {
  /** Probability that a message is dropped. */
  readonly lossRate: number;
  /** Probability that a message is delivered twice. */
  readonly duplicateRate: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  /** Probability that a message takes a much longer path (reordering beyond jitter). */
  readonly slowRate: number;
}

export const CALM_NETWORK: NetworkFaults = { lossRate: 0, duplicateRate: 0, minDelayMs: 0.1, maxDelayMs: 0.5, slowRate: 0 };

export class SimNetwork {
  private readonly handlers = new Map<NodeId, (from: NodeId, msg: Message) => void>();
  /** Directed links that drop everything: "a>b". */
  private readonly cut = new Set<string>();
  faults: NetworkFaults;
  readonly stats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, bytes: 0 };
  /** Observes every delivery (for traces). */
  onDeliver: ((from: NodeId, to: NodeId, msg: Message) => void) | null = null;
  /** Extra delay for chosen messages (scenarios that need one reordering every time). */
  extraDelayMs: ((from: NodeId, to: NodeId, msg: Message) => number) | null = null;

  constructor(
    private readonly q: EventQueue,
    private readonly prng: Prng,
    faults: NetworkFaults = CALM_NETWORK,
  ) {
    this.faults = faults;
  }

  /** The Network port for one node. */
  port(self: NodeId): Network {
    return {
      send: (to, msg) => this.send(self, to, msg),
      onMessage: (h) => {
        this.handlers.set(self, h);
      },
      peerState: (peer) => this.state(self, peer),
      close: () => {
        this.handlers.delete(self);
      },
    };
  }

  /** Detach a crashed node: messages to it are lost until it attaches again. */
  detach(id: NodeId): void {
    this.handlers.delete(id);
  }

  partition(a: NodeId, b: NodeId, oneWay = false): void {
    this.cut.add(`${a}>${b}`);
    if (!oneWay) this.cut.add(`${b}>${a}`);
  }

  isolate(a: NodeId, all: readonly NodeId[]): void {
    for (const b of all) if (b !== a) this.partition(a, b);
  }

  heal(): void {
    this.cut.clear();
  }

  get partitions(): string[] {
    return [...this.cut].sort();
  }

  private state(self: NodeId, peer: NodeId): PeerConnectionState {
    if (this.cut.has(`${self}>${peer}`) || !this.handlers.has(peer)) return 'down';
    return 'connected';
  }

  private send(from: NodeId, to: NodeId, msg: Message): void {
    this.stats.sent++;
    const f = this.faults;
    if (this.cut.has(`${from}>${to}`) || this.prng.chance(f.lossRate)) {
      this.stats.dropped++;
      return;
    }
    const bytes = encodeMessage(msg);
    this.stats.bytes += bytes.length;
    const copies = this.prng.chance(f.duplicateRate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      let delay = f.minDelayMs + this.prng.float() * (f.maxDelayMs - f.minDelayMs);
      if (this.prng.chance(f.slowRate)) delay += this.prng.float() * 40;
      if (this.extraDelayMs) delay += this.extraDelayMs(from, to, msg);
      this.q.schedule(delay, () => {
        // A partition that appeared while the message was in flight also drops it.
        if (this.cut.has(`${from}>${to}`)) {
          this.stats.dropped++;
          return;
        }
        const h = this.handlers.get(to);
        if (!h) {
          this.stats.dropped++;
          return;
        }
        this.stats.delivered++;
        const copy = decodeMessage(bytes);
        this.onDeliver?.(from, to, copy);
        h(from, copy);
      });
    }
  }
}
