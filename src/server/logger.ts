// Structured logging: pino with `node`, `role` and `epoch` on every line, so
// that the interleaved logs of a cluster can be read per node and per epoch.
//
// Role and epoch change at runtime. pino's `setBindings` appends to a child's
// bindings rather than replacing them (a key set twice is written twice, and
// the line grows on every change), so the changing fields come from a mixin
// that reads a small state object, and the node's role/epoch events update it.
import pino from 'pino';
import type { DestinationStream, Logger, LevelWithSilent } from 'pino';
import type { Epoch, NodeId } from '../core/types.ts';
import type { NodeHandle, Role } from '../runtime/node-api.ts';

export type { Logger } from 'pino';

export interface NodeLoggerOptions {
  readonly nodeId: NodeId;
  /** From the node's configuration; default 'info'. */
  readonly level?: LevelWithSilent;
  /** Where lines go; default stdout. Tests pass a stream to read lines back. */
  readonly destination?: DestinationStream;
  readonly role?: Role;
  readonly epoch?: Epoch;
}

export interface NodeLogger {
  /** The logger to hand to the runtime and servers; every line carries node, role and epoch. */
  readonly logger: Logger;
  /** Follows the node's role and epoch events until the returned function is called. */
  follow(node: Pick<NodeHandle, 'on' | 'off' | 'role' | 'epoch'>): () => void;
  /** Sets role and epoch directly (for code paths that know them before the node exists). */
  set(role: Role, epoch: Epoch): void;
}

export function createNodeLogger(opts: NodeLoggerOptions): NodeLogger {
  const state: { role: Role; epoch: Epoch } = { role: opts.role ?? 'secondary', epoch: opts.epoch ?? 0 };
  const base = pino(
    {
      level: opts.level ?? 'info',
      base: { node: opts.nodeId },
      // Fields from the call site win over the mixin (pino's default merge), so a line that
      // explicitly logs another node's role is not overwritten.
      mixin: () => ({ role: state.role, epoch: state.epoch }),
    },
    opts.destination ?? pino.destination(1),
  );
  return {
    logger: base,
    set(role, epoch) {
      state.role = role;
      state.epoch = epoch;
    },
    follow(node) {
      state.role = node.role();
      state.epoch = node.epoch();
      const onRole = (role: Role, epoch: Epoch): void => {
        state.role = role;
        state.epoch = epoch;
      };
      const onEpoch = (epoch: Epoch): void => {
        state.epoch = epoch;
      };
      node.on('role', onRole);
      node.on('epoch', onEpoch);
      return () => {
        node.off('role', onRole);
        node.off('epoch', onEpoch);
      };
    },
  };
}
