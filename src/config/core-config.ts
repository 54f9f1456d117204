// From the operator's configuration to the protocol core's (src/core/config.ts):
// the core takes only what it decides with, and checks its own safety rules
// (validateCoreConfig) when a node starts; the config layer has already
// reported any violation in the operator's terms.
import type { CoreConfig } from '../core/config.ts';
import type { Config } from './schema.ts';

/** The core's configuration for this node; `seed` drives election jitter (random per process in production). */
export function coreConfigOf(c: Config, seed: number): CoreConfig {
  const t = c.timing;
  const l = c.limits;
  return {
    self: c.nodeId,
    members: c.members.map((m) => ({ id: m.id, kind: m.kind })),
    timing: {
      heartbeatIntervalMs: t.heartbeatIntervalMs,
      electionTimeoutMs: t.electionTimeoutMs,
      electionJitterMs: t.electionJitterMs,
      leaseMarginMs: t.leaseMarginMs,
      ackTimeoutMs: t.ackTimeoutMs,
      syncWaitMs: t.syncWaitMs,
      resendAfterMs: t.resendAfterMs,
      requestTimeoutMs: t.requestTimeoutMs,
    },
    limits: {
      maxInFlightPerSecondary: l.maxInFlightPerSecondary,
      maxUpdatesPerAppend: l.maxUpdatesPerAppend,
      maxRetainedUpdates: l.maxRetainedUpdates,
      maxRetainedBytes: l.maxRetainedLogBytes,
      maxQueuedRequests: l.maxQueuedRequests,
      regionChunkEntries: l.regionChunkEntries,
      maxUpdateBytes: l.maxUpdateBytes,
      // Half a frame for the updates of one append: the rest covers encoding overhead.
      maxAppendBytes: Math.floor(l.maxFrameBytes / 2),
    },
    seed,
  };
}
