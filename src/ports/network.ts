// Network port: best-effort, per-peer-ordered message delivery between nodes.
// The real one is TCP (src/host/peer-transport.ts); the simulator's delays,
// drops, duplicates, reorders and partitions. The protocol tolerates loss.
import type { Message } from '../core/messages.ts';
import type { NodeId } from '../core/types.ts';

export type PeerConnectionState = 'connected' | 'connecting' | 'down';

export interface Network {
  /** Queue msg for `to`. Never throws for an unreachable peer: the message is dropped. */
  send(to: NodeId, msg: Message): void;
  /** Install the single receiver of inbound messages. */
  onMessage(handler: (from: NodeId, msg: Message) => void): void;
  /** Connection state per peer, for status and metrics. */
  peerState(peer: NodeId): PeerConnectionState;
  /** Bytes queued for a peer and not yet written (lets best-effort traffic yield to the protocol's); 0 if unknown. */
  queuedBytes?(peer: NodeId): number;
  close(): void;
}
