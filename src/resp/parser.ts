// Incremental RESP request parser. A client connection feeds it whatever the
// socket delivered; it returns every complete command (an array of Buffer
// arguments) regardless of how the bytes were split, so pipelining costs one
// call per chunk, not per command. It follows Redis's networking.c
// (processMultibulkBuffer / processInlineBuffer) closely, including its error
// texts, so that a malformed request gets the reply Redis would give before
// the connection is closed.
//
// Hot path: a multibulk command is located with native indexOf on '\r', its
// lengths are decoded from bytes without building strings, and each argument
// is sliced (or copied) straight out of the received chunk.
import { UnderstudyError } from '../errors.ts';

/** Largest bulk argument accepted (Redis's proto-max-bulk-len default, 512 MiB). */
export const MAX_BULK_BYTES = 512 * 1024 * 1024;
/**
 * Most arguments in one multibulk command. Redis 2.x–6.x used 1024*1024; Redis 7 accepts up to
 * INT_MAX, which lets one header make a server reserve a huge argv. We keep the older bound.
 */
export const MAX_MULTIBULK_ARGS = 1024 * 1024;
/** Longest inline command line, and longest "*<n>" / "$<n>" header line (PROTO_INLINE_MAX_SIZE). */
export const MAX_INLINE_BYTES = 64 * 1024;

/** A bulk bigger than this is assembled in its own buffer as chunks arrive (no re-concatenation). */
const LARGE_BULK_BYTES = 32 * 1024;

export interface ParserLimits {
  /** Largest bulk argument, bytes. Raise it with the server's proto-max-bulk-len setting. */
  readonly maxBulkBytes?: number;
  /** Most arguments per multibulk command. */
  readonly maxMultibulkArgs?: number;
  /** Longest inline request line, bytes. */
  readonly maxInlineBytes?: number;
  /**
   * Copy each argument out of the received chunk (default true). Copies let the socket's chunk be
   * freed once parsed; slices are faster but keep the whole chunk alive as long as any argument is.
   */
  readonly copyArgs?: boolean;
}

export interface FeedResult {
  /** Complete commands, in order. Empty commands ("*0", blank inline lines) are dropped as Redis does. */
  readonly commands: Buffer[][];
  /**
   * Set when the input is malformed. Commands before the bad one are still returned and should be
   * executed; the server then replies with `error.toResp()` and closes the connection, like Redis.
   * The parser stays failed: later feeds return the same error and no commands.
   */
  readonly error: UnderstudyError | null;
}

const CR = 13;
const LF = 10;
const EMPTY = Buffer.alloc(0);

/** Strict decimal integer of bytes [start, end) as Redis's string2ll: no '+', no leading zeros, no spaces. */
function parseLength(buf: Buffer, start: number, end: number): number | null {
  const len = end - start;
  if (len <= 0 || len > 20) return null;
  let i = start;
  let neg = false;
  if (buf[i] === 0x2d) {
    neg = true;
    i++;
    if (i === end) return null;
  }
  const first = buf[i]!;
  if (first === 0x30) return len === 1 ? 0 : null; // "0" only; "-0", "01" are invalid
  if (first < 0x31 || first > 0x39) return null;
  let v = 0;
  for (; i < end; i++) {
    const c = buf[i]! - 0x30;
    if (c < 0 || c > 9) return null;
    v = v * 10 + c;
  }
  // Beyond 2^53 precision is lost, but every caller rejects such values as too large anyway.
  return neg ? -v : v;
}

export class RespParser {
  readonly maxBulkBytes: number;
  readonly maxMultibulkArgs: number;
  readonly maxInlineBytes: number;
  private readonly copyArgs: boolean;

  /** Unconsumed input (a suffix of what was fed). */
  private buf: Buffer = EMPTY;
  private pos = 0;
  /** Arguments still expected by the multibulk command in progress (0 = none in progress). */
  private remaining = 0;
  private args: Buffer[] = [];
  /** Length of the bulk being read, or -1 when its "$<n>" header is still to come. */
  private bulkLen = -1;
  /** For large bulks: the argument being filled in place, and how much is filled. */
  private big: Buffer | null = null;
  private bigFilled = 0;
  private failed: UnderstudyError | null = null;

  constructor(limits: ParserLimits = {}) {
    this.maxBulkBytes = limits.maxBulkBytes ?? MAX_BULK_BYTES;
    this.maxMultibulkArgs = limits.maxMultibulkArgs ?? MAX_MULTIBULK_ARGS;
    this.maxInlineBytes = limits.maxInlineBytes ?? MAX_INLINE_BYTES;
    this.copyArgs = limits.copyArgs ?? true;
  }

  /** Bytes buffered but not yet part of a complete command (for client query-buffer accounting). */
  get pendingBytes(): number {
    return this.buf.length - this.pos + this.bigFilled;
  }

  feed(chunk: Buffer): FeedResult {
    const commands: Buffer[][] = [];
    if (this.failed) return { commands, error: this.failed };
    let off = 0;
    if (this.big) {
      // Fill the large argument in place; only its trailing CRLF and what follows enter `buf`.
      const want = this.big.length - this.bigFilled;
      const n = Math.min(want, chunk.length);
      chunk.copy(this.big, this.bigFilled, 0, n);
      this.bigFilled += n;
      off = n;
      if (this.bigFilled < this.big.length) return { commands, error: null };
    }
    if (this.pos < this.buf.length) {
      const rest = this.buf.subarray(this.pos);
      this.buf = off === 0 ? Buffer.concat([rest, chunk]) : Buffer.concat([rest, chunk.subarray(off)]);
    } else {
      this.buf = off === 0 ? chunk : chunk.subarray(off);
    }
    this.pos = 0;
    const error = this.run(commands);
    if (error) {
      this.failed = error;
      this.buf = EMPTY;
      this.pos = 0;
      this.args = [];
      this.big = null;
    } else if (this.pos >= this.buf.length) {
      this.buf = EMPTY;
      this.pos = 0;
    }
    return { commands, error };
  }

  private protocolError(what: string): UnderstudyError {
    return new UnderstudyError('RESP_PROTOCOL', `Protocol error: ${what}`);
  }

  private run(out: Buffer[][]): UnderstudyError | null {
    const buf = this.buf;
    const end = buf.length;
    const maxBulk = this.maxBulkBytes;
    const copy = this.copyArgs;
    for (;;) {
      if (this.big) {
        // The large bulk is complete: skip its CRLF (Redis does not check those two bytes).
        if (end - this.pos < 2) return null;
        this.pos += 2;
        this.args.push(this.big);
        this.big = null;
        this.bigFilled = 0;
        this.bulkLen = -1;
        if (--this.remaining === 0) {
          out.push(this.args);
          this.args = [];
        }
        continue;
      }
      if (this.remaining === 0) {
        if (this.pos >= end) return null;
        if (buf[this.pos] !== 0x2a /* '*' */) {
          const r = this.inline(out);
          if (r === 'more') return null;
          if (r !== null) return r;
          continue;
        }
        // "*<count>\r" then one more byte (Redis skips it without checking it is '\n').
        const cr = buf.indexOf(CR, this.pos);
        if (cr < 0) {
          if (end - this.pos > this.maxInlineBytes) return this.protocolError('too big mbulk count string');
          return null;
        }
        if (cr + 1 >= end) return null;
        const n = parseLength(buf, this.pos + 1, cr);
        if (n === null || n > this.maxMultibulkArgs) return this.protocolError('invalid multibulk length');
        this.pos = cr + 2;
        if (n <= 0) continue; // "*0" and "*-1" are ignored
        this.remaining = n;
        this.args = [];
        this.bulkLen = -1;
      }
      // Arguments of the command in progress. Hot path: state in locals, written back on exit.
      let pos = this.pos;
      let remaining = this.remaining;
      let bulkLen = this.bulkLen;
      const args = this.args;
      while (remaining > 0) {
        if (bulkLen < 0) {
          if (pos >= end) break;
          // Fast path for the usual "$<1-9 digits, no leading zero>\r?" header.
          let n = -1;
          let q = pos + 1;
          if (buf[pos] === 0x24) {
            let c = q < end ? buf[q]! : 0;
            if (c >= 0x31 && c <= 0x39) {
              let v = 0;
              do {
                v = v * 10 + (c - 0x30);
                c = ++q < end ? buf[q]! : 0;
              } while (c >= 0x30 && c <= 0x39 && q - pos < 10);
              if (c === CR && q + 1 < end) n = v;
            } else if (c === 0x30 && q + 2 < end && buf[q + 1] === CR) {
              n = 0;
              q++;
            }
          }
          if (n >= 0 && n <= maxBulk) {
            pos = q + 2;
            bulkLen = n;
          } else {
            // General path: incomplete header, long lengths, and every malformed case.
            const cr = buf.indexOf(CR, pos);
            if (cr < 0 || cr + 1 >= end) {
              if (cr < 0 && end - pos > this.maxInlineBytes) return this.protocolError('too big bulk count string');
              break;
            }
            const c = buf[pos]!;
            if (c !== 0x24 /* '$' */) return this.protocolError(`expected '$', got '${String.fromCharCode(c)}'`);
            const len = parseLength(buf, pos + 1, cr);
            if (len === null || len < 0 || len > maxBulk) return this.protocolError('invalid bulk length');
            pos = cr + 2;
            bulkLen = len;
          }
        }
        const n = bulkLen;
        const avail = end - pos;
        if (avail < n + 2) {
          if (n >= LARGE_BULK_BYTES && avail < n) {
            // Start assembling the argument in its own buffer; feed() fills the rest.
            const big = Buffer.allocUnsafe(n);
            buf.copy(big, 0, pos, end);
            this.big = big;
            this.bigFilled = avail;
            pos = end;
          }
          break;
        }
        if (copy) {
          const a = Buffer.allocUnsafe(n);
          buf.copy(a, 0, pos, pos + n);
          args.push(a);
        } else {
          args.push(buf.subarray(pos, pos + n));
        }
        pos += n + 2; // the trailing CRLF is skipped unchecked, as Redis does
        bulkLen = -1;
        remaining--;
      }
      this.pos = pos;
      this.remaining = remaining;
      this.bulkLen = bulkLen;
      if (remaining > 0) return null; // waiting for more input
      out.push(args);
      this.args = [];
    }
  }

  /** One inline command ("PING\r\n", "SET k \"v w\"\n"). Returns 'more' when the line is incomplete. */
  private inline(out: Buffer[][]): UnderstudyError | null | 'more' {
    const buf = this.buf;
    const lf = buf.indexOf(LF, this.pos);
    const lineEnd = lf < 0 ? buf.length : lf > this.pos && buf[lf - 1] === CR ? lf - 1 : lf;
    // A line longer than the limit is refused whether or not its end has arrived, so the outcome
    // does not depend on how the input was split.
    if (lineEnd - this.pos > this.maxInlineBytes) return this.protocolError('too big inline request');
    if (lf < 0) return 'more';
    const args = splitInlineArgs(buf, this.pos, lineEnd);
    if (args === null) return this.protocolError('unbalanced quotes in request');
    this.pos = lf + 1;
    if (args.length > 0) out.push(args);
    return null;
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d); // ' ', \t \n \v \f \r (C isspace)
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/**
 * Redis's sdssplitargs over bytes [start, end): blanks separate arguments; "double quotes" take
 * \n \r \t \b \a \xHH and \<c> escapes; 'single quotes' take \' only; a closing quote must be
 * followed by a blank or the end. Returns null on unbalanced quotes. The line is treated as a C
 * string: a NUL byte ends it.
 */
export function splitInlineArgs(buf: Buffer, start: number, end: number): Buffer[] | null {
  const nul = buf.indexOf(0, start);
  if (nul >= 0 && nul < end) end = nul;
  const at = (i: number): number => (i < end ? buf[i]! : 0);
  const args: Buffer[] = [];
  const tmp = Buffer.allocUnsafe(end - start);
  let p = start;
  for (;;) {
    while (p < end && isSpace(buf[p]!)) p++;
    if (p >= end) return args;
    let len = 0;
    let inq = false;
    let insq = false;
    let done = false;
    while (!done) {
      const c = at(p);
      if (inq) {
        if (c === 0x5c && at(p + 1) === 0x78 && hexVal(at(p + 2)) >= 0 && hexVal(at(p + 3)) >= 0) {
          tmp[len++] = hexVal(at(p + 2)) * 16 + hexVal(at(p + 3));
          p += 3;
        } else if (c === 0x5c && at(p + 1) !== 0) {
          p++;
          const e = at(p);
          tmp[len++] = e === 0x6e ? 10 : e === 0x72 ? 13 : e === 0x74 ? 9 : e === 0x62 ? 8 : e === 0x61 ? 7 : e;
        } else if (c === 0x22) {
          const next = at(p + 1);
          if (next !== 0 && !isSpace(next)) return null;
          done = true;
        } else if (c === 0) {
          return null;
        } else {
          tmp[len++] = c;
        }
      } else if (insq) {
        if (c === 0x5c && at(p + 1) === 0x27) {
          p++;
          tmp[len++] = 0x27;
        } else if (c === 0x27) {
          const next = at(p + 1);
          if (next !== 0 && !isSpace(next)) return null;
          done = true;
        } else if (c === 0) {
          return null;
        } else {
          tmp[len++] = c;
        }
      } else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0) {
        done = true;
      } else if (c === 0x22) {
        inq = true;
      } else if (c === 0x27) {
        insq = true;
      } else {
        tmp[len++] = c;
      }
      if (p < end) p++;
    }
    args.push(Buffer.from(tmp.subarray(0, len)));
  }
}
