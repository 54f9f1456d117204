// The error catalogue: every expected operating error has a stable code, the
// prefix a Redis client sees (the first word of a RESP error), an HTTP status
// for the admin API, and a message that says what to change.
//
// Assertions (src/lib/assert.ts) are for impossibilities; these are for bad
// input, bad configuration, lost quorum, stale epochs and the like.

export interface ErrorSpec {
  /** RESP error prefix (first word of "-PREFIX message"). */
  readonly resp: string;
  /** HTTP status for the admin API. */
  readonly http: number;
}

export const ERRORS = {
  // Update log (src/log)
  LOG_CORRUPT_RECORD: { resp: 'ERR', http: 500 },
  LOG_TORN_TAIL: { resp: 'ERR', http: 500 },
  LOG_RECORD_TOO_LARGE: { resp: 'ERR', http: 413 },
  LOG_POINTER_FILE_CORRUPT: { resp: 'ERR', http: 500 },
  LOG_GAP: { resp: 'ERR', http: 500 },
  LOG_CLOSED: { resp: 'ERR', http: 503 },
  LOG_IO: { resp: 'ERR', http: 500 },
  LOG_HARD_STATE_CORRUPT: { resp: 'ERR', http: 500 },
  // Storage area (src/storage)
  STORAGE_IO: { resp: 'ERR', http: 500 },
  STORAGE_OUT_OF_ORDER: { resp: 'ERR', http: 500 },
  STORAGE_KEY_TOO_LARGE: { resp: 'ERR', http: 413 },
  STORAGE_CORRUPT: { resp: 'ERR', http: 500 },
  STORAGE_CLOSED: { resp: 'ERR', http: 503 },
  // Wire and peers (src/codec, src/host)
  FRAME_TOO_LARGE: { resp: 'ERR', http: 400 },
  FRAME_CORRUPT: { resp: 'ERR', http: 400 },
  FRAME_UNKNOWN_TYPE: { resp: 'ERR', http: 400 },
  PEER_AUTH_FAILED: { resp: 'ERR', http: 401 },
  PEER_UNKNOWN: { resp: 'ERR', http: 401 },
  STALE_EPOCH: { resp: 'ERR', http: 409 },
  // Client protocol (src/resp, src/server)
  RESP_PROTOCOL: { resp: 'ERR', http: 400 },
  RESP_TOO_LARGE: { resp: 'ERR', http: 413 },
  UNKNOWN_COMMAND: { resp: 'ERR', http: 400 },
  WRONG_ARITY: { resp: 'ERR', http: 400 },
  WRONG_TYPE: { resp: 'WRONGTYPE', http: 400 },
  NOT_INTEGER: { resp: 'ERR', http: 400 },
  SYNTAX: { resp: 'ERR', http: 400 },
  TOO_MANY_CLIENTS: { resp: 'ERR', http: 503 },
  NOAUTH: { resp: 'NOAUTH', http: 401 },
  // Replication (src/core)
  READONLY: { resp: 'READONLY', http: 409 },
  NOT_PRIMARY: { resp: 'READONLY', http: 409 },
  NO_QUORUM: { resp: 'NOQUORUM', http: 503 },
  LEASE_EXPIRED: { resp: 'TRYAGAIN', http: 503 },
  FAILOVER_IN_PROGRESS: { resp: 'TRYAGAIN', http: 503 },
  REGION_RESYNC: { resp: 'LOADING', http: 503 },
  /** The node lost data (an empty data directory, a cut log tail) and is being refilled. */
  DATA_LOST: { resp: 'LOADING', http: 503 },
  WRITE_TIMEOUT: { resp: 'TIMEOUT', http: 504 },
  /** A client command sent to a witness, which holds no data. */
  WITNESS_NO_DATA: { resp: 'ERR', http: 409 },
  SWITCHOVER_FAILED: { resp: 'ERR', http: 409 },
  // Configuration (src/config)
  CONFIG_INVALID: { resp: 'ERR', http: 400 },
  DATA_DIR_NOT_EMPTY: { resp: 'ERR', http: 409 },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

/**
 * The fixed texts of the errors the protocol core replies with to clients, so that each has one
 * wording. (READONLY's is Redis's own, which clients match on.) src/core builds its replies from
 * these through replyText; this file imports nothing, so the core stays pure.
 */
export const REPLY_TEXTS = {
  READONLY: "You can't write against a read only replica.",
  NOT_PRIMARY: 'this node is no longer the primary; the outcome of this write is unknown',
  WITNESS_NO_DATA: 'this node is a witness and holds no data',
  DATA_LOST: 'this node lost its data and is being refilled from the primary, try another replica or the primary',
  REGION_RESYNC: 'region resync in progress, try another replica or the primary',
  FAILOVER_IN_PROGRESS: 'too many requests waiting for failover to finish (limits.maxQueuedRequests)',
  WRITE_TIMEOUT: 'the write was not confirmed in time; its outcome is unknown (timing.requestTimeoutMs)',
} as const satisfies Partial<Record<ErrorCode, string>>;

/** The RESP error body ("PREFIX text") of one of the core's fixed replies. */
export function replyText(code: keyof typeof REPLY_TEXTS): string {
  return `${ERRORS[code].resp} ${REPLY_TEXTS[code]}`;
}

/** An expected operating error with a stable code. */
export class UnderstudyError extends Error {
  override name = 'UnderstudyError';
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.code = code;
    this.details = details;
  }

  /** The RESP error line body (without '-' and CRLF). */
  toResp(): string {
    return `${ERRORS[this.code].resp} ${this.message}`;
  }

  get httpStatus(): number {
    return ERRORS[this.code].http;
  }
}

export function isUnderstudyError(e: unknown, code?: ErrorCode): e is UnderstudyError {
  return e instanceof UnderstudyError && (code === undefined || e.code === code);
}
