// Validation of client arguments against what an update can carry, shared by every command.
// Redis answers some inputs with a value no update here can hold (an expiry time past 2^53 ms,
// a key longer than the storage engine's keys, a write bigger than one log record); those get
// a validation error here, so that nothing a client sends can reach an assertion of the update
// codec, a refusal of the storage area or of the log — which on the primary would stop the node,
// and on a secondary would stop it at every restart, the update being in its log already.
import { err } from '../reply.ts';
import type { Reply } from '../reply.ts';
import type { Op } from '../types.ts';
import { opsBytes } from '../log-view.ts';
import { E_ELEMENT_TOO_LONG, MAX_ELEMENT_KEY_BYTES } from '../collections.ts';
import { LLONG_MAX, LLONG_MIN } from './numbers.ts';

/**
 * Latest expiry time an update carries, unix ms (2^53 − 1: the year 287396). The update codec
 * and the storage areas hold expiry times as safe integers; Redis's own limit is 2^63 − 1, and
 * past ours a command gets the error Redis gives past its own ("invalid expire time").
 */
export const MAX_EXPIRE_AT_MS = Number.MAX_SAFE_INTEGER;

/**
 * Longest key a write may create, bytes: LMDB's compiled-in maximum key size (1978) less the
 * one-byte region prefix of the LMDB layout (src/storage/lmdb-storage.ts); both storage areas
 * refuse longer keys. Redis allows keys up to proto-max-bulk-len; a longer key here is refused
 * with E_KEY_TOO_LONG, and cannot be raised by configuration.
 */
export const MAX_KEY_BYTES = 1977;

export function expireTimeError(cmd: string): Reply {
  return err(`ERR invalid expire time in '${cmd}' command`);
}

/**
 * getExpireMillisecondsOrReply (SET EX|PX|EXAT|PXAT, SETEX, PSETEX, GETEX): `v` in seconds or
 * ms, relative to `nowMs` or absolute, as an absolute expiry in ms; null when Redis says
 * "invalid expire time" (zero, negative, overflow) or when past MAX_EXPIRE_AT_MS.
 */
export function expireAtForSet(v: bigint, seconds: boolean, relative: boolean, nowMs: number): number | null {
  if (v <= 0n || (seconds && v > LLONG_MAX / 1000n)) return null;
  let ms = seconds ? v * 1000n : v;
  if (relative) ms += BigInt(nowMs);
  // Redis adds in signed 64 bits, so a sum past LLONG_MAX wraps negative and is refused there too.
  if (ms <= 0n || ms > BigInt(MAX_EXPIRE_AT_MS)) return null;
  return Number(ms);
}

/**
 * expireGenericCommand's time (EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT): `when` in seconds or ms
 * plus `basetimeMs`, exact; null when Redis says "invalid expire time" (overflow) or when past
 * MAX_EXPIRE_AT_MS. A time at or before now is valid (the key is deleted), however negative.
 */
export function expireAtForExpire(when: bigint, seconds: boolean, basetimeMs: number): bigint | null {
  if (seconds) {
    if (when > LLONG_MAX / 1000n || when < LLONG_MIN / 1000n) return null;
    when *= 1000n;
  }
  const base = BigInt(basetimeMs);
  if (when > LLONG_MAX - base) return null;
  when += base;
  return when > BigInt(MAX_EXPIRE_AT_MS) ? null : when;
}

/**
 * The sizes one write (a command, or the commands of one EXEC) may reach. The replica passes
 * the node's configuration; the defaults are Redis's (no bound on a write as a whole).
 */
export interface WriteLimits {
  /** Largest string a command may build (Redis's proto-max-bulk-len, limits.maxValueBytes). */
  readonly maxValueBytes: number;
  /** Largest write, in opsBytes (keys, values and per-op overhead): what one update and its log record hold. */
  readonly maxWriteBytes: number;
}

/**
 * Why `ops` (with `priorBytes` already written by the same EXEC) cannot be one update, as an
 * error reply, or null when they can. Checked on the ops rather than on arguments, so that it
 * holds for every command, present and future, exactly when something would be stored.
 */
export function checkWrite(ops: readonly Op[], limits: WriteLimits, priorBytes = 0): Reply | null {
  for (const op of ops) {
    if (op.k !== 'flush' && op.key.length > MAX_KEY_BYTES) {
      return err(`ERR key too long: ${op.key.length} bytes, above the ${MAX_KEY_BYTES} bytes a key may have here (MAX_KEY_BYTES, the storage engine's limit); use a shorter key`);
    }
    if (op.k === 'elem' && op.key.length + op.elem.length > MAX_ELEMENT_KEY_BYTES) return err(E_ELEMENT_TOO_LONG);
  }
  const bytes = priorBytes + opsBytes(ops);
  if (bytes > limits.maxWriteBytes) {
    return err(
      `ERR write too large: its update would hold ${bytes} bytes of keys and values, above the ${limits.maxWriteBytes} bytes one update may hold ` +
        `(one log record, MAX_RECORD_BYTES, and one peer frame, limits.maxFrameBytes); split it into smaller writes`,
    );
  }
  return null;
}
