// Adapter between the RESP server and the shared codec in src/resp: builds a
// request parser with the server's named limits, and adds the one frame the
// reply writer has no Reply for — the RESP3 push ('>') of pub/sub messages.
import type { Reply } from '../core/reply.ts';
import { RespParser } from '../resp/parser.ts';
import { encodeReply as writeReply, encodeReplies } from '../resp/writer.ts';
import type { RespLimits } from './resp-limits.ts';

export function createRequestParser(limits: Pick<RespLimits, 'maxValueBytes' | 'maxArgs' | 'maxInlineBytes'>): RespParser {
  return new RespParser({ maxBulkBytes: limits.maxValueBytes, maxMultibulkArgs: limits.maxArgs, maxInlineBytes: limits.maxInlineBytes });
}

export function encodeReply(reply: Reply, proto: 2 | 3): Buffer {
  return writeReply(reply, proto);
}

/** A pub/sub message: a push frame in RESP3, a plain array in RESP2 (as Redis sends them). */
export function encodePush(items: readonly Reply[], proto: 2 | 3): Buffer {
  if (proto === 2) return writeReply({ t: 'array', items }, 2);
  return Buffer.concat([Buffer.from(`>${items.length}\r\n`), encodeReplies(items, 3)]);
}
