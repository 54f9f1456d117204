// Encodes wire-independent replies (src/core/reply.ts) as RESP2 or RESP3 bytes.
// A pipeline's replies are encoded into one Buffer: sizes are computed first,
// then everything is written into a single allocation, so a socket write per
// batch replaces a write (and an allocation) per reply.
import type { Reply } from '../core/reply.ts';
import { formatDouble } from '../core/kv/float-format.ts';
import { assert, unreachable } from '../lib/assert.ts';

export type RespVersion = 2 | 3;

const CRLF_LEN = 2;

/** Simple strings and errors cannot carry CR or LF: Redis replaces them with spaces too. */
function lineText(s: string): string {
  return /[\r\n]/.test(s) ? s.replace(/[\r\n]/g, ' ') : s;
}

function decLen(n: number): number {
  // Length of the decimal form of a non-negative safe integer.
  if (n < 10) return 1;
  if (n < 100) return 2;
  if (n < 1000) return 3;
  if (n < 10000) return 4;
  return String(n).length;
}

/** RESP2 shows a double as a bulk string; inf is spelled like Redis ("inf", "-inf"). */
function doubleText(d: number): string {
  return formatDouble(d);
}

/** Bytes needed for `r` (strings cached in `texts` in encounter order, to avoid formatting twice). */
function sizeOf(r: Reply, v: RespVersion, texts: string[]): number {
  switch (r.t) {
    case 'simple': {
      const s = lineText(r.s);
      texts.push(s);
      return 1 + Buffer.byteLength(s) + CRLF_LEN;
    }
    case 'error': {
      const s = lineText(r.msg);
      texts.push(s);
      return 1 + Buffer.byteLength(s) + CRLF_LEN;
    }
    case 'int': {
      const s = String(r.n);
      texts.push(s);
      return 1 + s.length + CRLF_LEN;
    }
    case 'bulk':
      if (r.b === null) return v === 3 ? 3 : 5; // "_\r\n" | "$-1\r\n"
      return 1 + decLen(r.b.length) + CRLF_LEN + r.b.length + CRLF_LEN;
    case 'array': {
      if (r.items === null) return v === 3 ? 3 : 5; // "_\r\n" | "*-1\r\n"
      let n = 1 + decLen(r.items.length) + CRLF_LEN;
      for (const it of r.items) n += sizeOf(it, v, texts);
      return n;
    }
    case 'set': {
      let n = 1 + decLen(r.items.length) + CRLF_LEN;
      for (const it of r.items) n += sizeOf(it, v, texts);
      return n;
    }
    case 'map': {
      const count = v === 3 ? r.entries.length : r.entries.length * 2;
      let n = 1 + decLen(count) + CRLF_LEN;
      for (const [k, val] of r.entries) n += sizeOf(k, v, texts) + sizeOf(val, v, texts);
      return n;
    }
    case 'pairs': {
      let n = 1 + decLen(v === 3 ? r.items.length : r.items.length * 2) + CRLF_LEN;
      if (v === 3) n += r.items.length * (1 + 1 + CRLF_LEN); // "*2\r\n" per pair
      for (const [x, y] of r.items) n += sizeOf(x, v, texts) + sizeOf(y, v, texts);
      return n;
    }
    case 'double': {
      const s = doubleText(r.d);
      texts.push(s);
      return v === 3 ? 1 + s.length + CRLF_LEN : 1 + decLen(s.length) + CRLF_LEN + s.length + CRLF_LEN;
    }
    case 'null':
      return v === 3 ? 3 : 5;
    case 'verbatim': {
      const body = v === 3 ? `${r.format.padEnd(3, ' ').slice(0, 3)}:${r.s}` : r.s;
      texts.push(body);
      const len = Buffer.byteLength(body);
      return 1 + decLen(len) + CRLF_LEN + len + CRLF_LEN;
    }
    default:
      return unreachable(r, 'reply');
  }
}

class Out {
  pos = 0;
  ti = 0;
  constructor(
    readonly buf: Buffer,
    readonly texts: string[],
  ) {}
  byte(c: number): void {
    this.buf[this.pos++] = c;
  }
  crlf(): void {
    this.buf[this.pos++] = 13;
    this.buf[this.pos++] = 10;
  }
  ascii(s: string): void {
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }
  utf8(s: string): void {
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }
  header(prefix: number, n: number): void {
    this.byte(prefix);
    this.ascii(String(n));
    this.crlf();
  }
  nextText(): string {
    return this.texts[this.ti++]!;
  }
}

function write(r: Reply, v: RespVersion, o: Out): void {
  switch (r.t) {
    case 'simple':
      o.byte(0x2b); // '+'
      o.utf8(o.nextText());
      o.crlf();
      return;
    case 'error':
      o.byte(0x2d); // '-'
      o.utf8(o.nextText());
      o.crlf();
      return;
    case 'int':
      o.byte(0x3a); // ':'
      o.ascii(o.nextText());
      o.crlf();
      return;
    case 'bulk':
      if (r.b === null) {
        o.ascii(v === 3 ? '_\r\n' : '$-1\r\n');
        return;
      }
      o.header(0x24, r.b.length);
      o.pos += r.b.copy(o.buf, o.pos);
      o.crlf();
      return;
    case 'array':
      if (r.items === null) {
        o.ascii(v === 3 ? '_\r\n' : '*-1\r\n');
        return;
      }
      o.header(0x2a, r.items.length);
      for (const it of r.items) write(it, v, o);
      return;
    case 'set':
      o.header(v === 3 ? 0x7e /* '~' */ : 0x2a, r.items.length);
      for (const it of r.items) write(it, v, o);
      return;
    case 'map':
      if (v === 3) o.header(0x25 /* '%' */, r.entries.length);
      else o.header(0x2a, r.entries.length * 2);
      for (const [k, val] of r.entries) {
        write(k, v, o);
        write(val, v, o);
      }
      return;
    case 'pairs':
      o.header(0x2a, v === 3 ? r.items.length : r.items.length * 2);
      for (const [x, y] of r.items) {
        if (v === 3) o.header(0x2a, 2);
        write(x, v, o);
        write(y, v, o);
      }
      return;
    case 'double': {
      const s = o.nextText();
      if (v === 3) {
        o.byte(0x2c); // ','
        o.ascii(s);
        o.crlf();
      } else {
        o.header(0x24, s.length);
        o.ascii(s);
        o.crlf();
      }
      return;
    }
    case 'null':
      o.ascii(v === 3 ? '_\r\n' : '$-1\r\n');
      return;
    case 'verbatim': {
      const body = o.nextText();
      o.header(v === 3 ? 0x3d /* '=' */ : 0x24, Buffer.byteLength(body));
      o.utf8(body);
      o.crlf();
      return;
    }
    default:
      unreachable(r, 'reply');
  }
}

/** Encodes several replies (a pipeline's worth) into one Buffer, in order. */
export function encodeReplies(replies: readonly Reply[], version: RespVersion = 2): Buffer {
  const texts: string[] = [];
  let size = 0;
  for (const r of replies) size += sizeOf(r, version, texts);
  const o = new Out(Buffer.allocUnsafe(size), texts);
  for (const r of replies) write(r, version, o);
  assert(o.pos === size, () => `RESP writer size mismatch: computed ${size}, wrote ${o.pos}`);
  return o.buf;
}

/** Encodes one reply. */
export function encodeReply(reply: Reply, version: RespVersion = 2): Buffer {
  return encodeReplies([reply], version);
}
