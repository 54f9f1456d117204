// CLIENT REPLY ON | OFF | SKIP (Redis 7.0's networking.c): a client that fires commands and
// never reads replies turns them off; SKIP drops the reply of the next command only. The
// connection applies the state to each reply slot (resp-connection.ts); pub/sub messages are
// pushes, outside the slots, and still arrive, as in Redis.
import { err, OK, type Reply } from '../core/reply.ts';
import type { Connection, Out } from './resp-connection.ts';

/** An answer of no bytes: CLIENT REPLY OFF and SKIP reply nothing themselves. */
const NOTHING: Out = { t: 'seq', outs: [] };

export function clientReply(c: Connection, mode: Buffer): Out {
  switch (mode.toString('latin1').toLowerCase()) {
    case 'on':
      c.reply.off = false;
      c.reply.skipNext = false;
      c.reply.skipThis = false;
      return OK;
    case 'off':
      c.reply.off = true;
      return NOTHING;
    case 'skip':
      if (!c.reply.off) c.reply.skipNext = true;
      return NOTHING;
    default:
      return err('ERR syntax error') as Reply;
  }
}
