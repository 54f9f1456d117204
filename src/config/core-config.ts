// From the operator's configuration to the protocol core's (src/core/config.ts):
// the core takes only what it decides with, and checks its own safety rules
// (validateCoreConfig) when a node starts; the config layer has already
// reported any violation in the operator's terms.
import { type CoreConfig, DEFAULT_LIMITS } from '../core/config.ts';
import { MAX_RECORD_BYTES } from '../log/log-limits.ts';
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
      maxAppendBytes: appendBytesOf(l.maxFrameBytes, l.maxUpdateBytes),
      maxValueBytes: l.maxValueBytes,
      maxWriteBytes: writeBytesOf(l.maxFrameBytes),
    },
    seed,
  };
}

/**
 * Bytes of updates in one append: a few MiB, so a secondary catching up takes each append in
 * a few milliseconds and acknowledges as it goes (a new primary shipping a large diff in 32 MiB
 * appends was seen to step down, its only live secondary silent for a whole election timeout
 * while it digested one); within half a frame (the rest covers encoding overhead), and never
 * below one gathered update.
 */
export const APPEND_BYTES = DEFAULT_LIMITS.maxAppendBytes;

function appendBytesOf(maxFrameBytes: number, maxUpdateBytes: number): number {
  return Math.max(maxUpdateBytes, Math.min(APPEND_BYTES, Math.floor(maxFrameBytes / 2)));
}

/** Room kept in a log record or a frame for what an update holds besides its ops (header, dest, regions). */
export const UPDATE_HEADER_RESERVE_BYTES = 64 * 1024;

/**
 * The largest write: one update must fit one log record (MAX_RECORD_BYTES) and one peer frame
 * (limits.maxFrameBytes), each less the header reserve. loadConfig makes sure it is at least
 * limits.maxValueBytes, so that any one value a client may send can be written.
 */
function writeBytesOf(maxFrameBytes: number): number {
  return Math.min(MAX_RECORD_BYTES, maxFrameBytes) - UPDATE_HEADER_RESERVE_BYTES;
}
