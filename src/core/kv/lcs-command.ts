// LCS (Redis 7.0's t_string.c lcsCommand): the longest common subsequence of two strings, by
// the same dynamic-programming table and the same backward walk, so that among several
// subsequences of the longest length the one Redis picks is the one returned, and IDX lists the
// same ranges in the same order.
import { arr, bulk, err, int } from '../reply.ts';
import type { Reply } from '../reply.ts';
import { E_NOT_INT, E_SYNTAX, is, live } from './context.ts';
import type { Ctx, Handler } from './context.ts';
import { parseI64 } from './numbers.ts';

/**
 * Largest LCS table (4 bytes per cell, (len1 + 1) × (len2 + 1) cells) one command may build.
 * Redis bounds it by proto-max-bulk-len (512 MiB by default; limits.maxValueBytes here) and
 * answers with E_LCS_TOO_BIG past it; a node also serves every other client from the same
 * thread and heap, so it allows at most this much whatever limits.maxValueBytes says. Compare
 * shorter strings, or substrings of them, for more.
 */
export const MAX_LCS_TABLE_BYTES = 256 * 1024 * 1024;
export const E_LCS_TOO_BIG = 'ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len';
export const E_LCS_TOO_BIG_HERE = `ERR Insufficient memory, transient memory for LCS exceeds MAX_LCS_TABLE_BYTES (${MAX_LCS_TABLE_BYTES} bytes): compare shorter strings`;
const E_NOT_STRINGS = 'ERR The specified keys must contain string values';
const EMPTY = Buffer.alloc(0);

const lcs: Handler = (c: Ctx, args: readonly Buffer[]): Reply => {
  const ea = live(c, args[1]!);
  const eb = live(c, args[2]!);
  if ((ea && ea.type !== 'string') || (eb && eb.type !== 'string')) return err(E_NOT_STRINGS);
  const a = ea?.value ?? EMPTY;
  const b = eb?.value ?? EMPTY;
  let getLen = false;
  let getIdx = false;
  let withMatchLen = false;
  let minMatchLen = 0n;
  for (let j = 3; j < args.length; j++) {
    const opt = args[j]!;
    const more = args.length - 1 - j;
    if (is(opt, 'idx')) getIdx = true;
    else if (is(opt, 'len')) getLen = true;
    else if (is(opt, 'withmatchlen')) withMatchLen = true;
    else if (is(opt, 'minmatchlen') && more > 0) {
      const n = parseI64(args[++j]!);
      if (n === null) return err(E_NOT_INT);
      minMatchLen = n < 0n ? 0n : n;
    } else return err(E_SYNTAX);
  }
  if (getLen && getIdx) return err('ERR If you want both the length and indexes, please just use IDX.');
  const alen = a.length;
  const blen = b.length;
  const tableBytes = (alen + 1) * (blen + 1) * 4;
  if (tableBytes > c.maxValueBytes) return err(E_LCS_TOO_BIG);
  if (tableBytes > MAX_LCS_TABLE_BYTES) return err(E_LCS_TOO_BIG_HERE);

  // table[j + (blen + 1) * i] = length of the LCS of a[0..i-1] and b[0..j-1].
  const w = blen + 1;
  const table = new Uint32Array((alen + 1) * w);
  for (let i = 1; i <= alen; i++) {
    const ai = a[i - 1];
    const row = i * w;
    const prev = row - w;
    for (let j = 1; j <= blen; j++) {
      if (ai === b[j - 1]) table[row + j] = table[prev + j - 1]! + 1;
      else {
        const up = table[prev + j]!;
        const left = table[row + j - 1]!;
        table[row + j] = up > left ? up : left;
      }
    }
  }
  const total = table[alen * w + blen]!;
  if (getLen) return int(total);

  // Walk back from the end, as Redis does, building the subsequence and its matching ranges.
  const result = Buffer.alloc(total);
  const matches: Reply[] = [];
  let idx = total;
  let aStart = alen; // alen: no range open
  let aEnd = 0;
  let bStart = 0;
  let bEnd = 0;
  let i = alen;
  let j = blen;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a[i - 1] === b[j - 1]) {
      result[idx - 1] = a[i - 1]!;
      if (aStart === alen) {
        aStart = i - 1;
        aEnd = i - 1;
        bStart = j - 1;
        bEnd = j - 1;
      } else if (aStart === i && bStart === j) {
        aStart--;
        bStart--;
      } else emit = true;
      if (aStart === 0 || bStart === 0) emit = true;
      idx--;
      i--;
      j--;
    } else {
      if (table[(i - 1) * w + j]! > table[i * w + j - 1]!) i--;
      else j--;
      if (aStart !== alen) emit = true;
    }
    if (emit) {
      const matchLen = aEnd - aStart + 1;
      if (getIdx && (minMatchLen === 0n || BigInt(matchLen) >= minMatchLen)) {
        const range = [arr([int(aStart), int(aEnd)]), arr([int(bStart), int(bEnd)])];
        if (withMatchLen) range.push(int(matchLen));
        matches.push(arr(range));
      }
      aStart = alen;
    }
  }
  if (!getIdx) return bulk(result);
  return {
    t: 'map',
    entries: [
      [bulk('matches'), arr(matches)],
      [bulk('len'), int(total)],
    ],
  };
};

export const LCS_HANDLERS: ReadonlyArray<readonly [string, Handler]> = [['lcs', lcs]];
