// One way for every command that changes part of a string (SETBIT, BITFIELD, and the
// commands that could share it): the bytes it changes, at their offset.
import type { Entry } from '../types.ts';
import { put } from './context.ts';
import type { Ctx } from './context.ts';

/**
 * Writes `bytes` at byte `offset` of the string at key (`old`: its live entry, or undefined
 * when there is none), zero-filling any gap past its end; keeps its expiry.
 */
export function writeBytes(c: Ctx, key: Buffer, old: Entry | undefined, offset: number, bytes: Buffer): void {
  const oldLen = old?.value.length ?? 0;
  const out = Buffer.alloc(Math.max(oldLen, offset + bytes.length));
  if (old !== undefined) old.value.copy(out, 0);
  bytes.copy(out, offset);
  put(c, key, out, old?.expireAtMs ?? 0);
}
