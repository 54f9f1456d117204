// Shared by the bitmap and HyperLogLog differential tests: our side of a comparison (a fresh
// keyspace, commands through the parser, the executor and the writer) and a script runner that
// sends every command to redis-server and to us and compares the raw replies.
import assert from 'node:assert/strict';
import { RespParser } from '../../src/resp/parser.ts';
import { encodeReply } from '../../src/resp/writer.ts';
import { execute } from '../../src/core/kv/executor.ts';
import type { Op } from '../../src/core/types.ts';
import { MapView } from './map-view.ts';
import { encodeCommand, RawClient } from './redis-server.ts';

export class OursView {
  readonly view = new MapView();
  /** Every op our commands emitted, in order. */
  readonly ops: Op[] = [];
  private readonly parser = new RespParser();
  run(args: readonly (string | Buffer)[]): Buffer {
    const { commands, error } = this.parser.feed(encodeCommand(args));
    assert.equal(error, null);
    const r = execute(commands[0]!, this.view, Date.now());
    this.view.apply(r.ops);
    this.ops.push(...r.ops);
    return encodeReply(r.reply, 2);
  }
}

/** Arguments given as latin1 strings ("\xff" is the byte 0xff) as the bytes to send. */
export function bytesArgs(args: readonly string[]): Buffer[] {
  return args.map((a) => Buffer.from(a, 'latin1'));
}

/** Runs a script on both sides from an empty keyspace; every raw reply must be equal. */
export async function runScript(redis: RawClient, cmds: readonly (readonly string[])[]): Promise<OursView> {
  assert.equal((await redis.command(['FLUSHALL'])).toString(), '+OK\r\n');
  const ours = new OursView();
  for (const [i, args] of cmds.entries()) {
    const b = bytesArgs(args);
    const theirs = await redis.command(b);
    assert.equal(ours.run(b).toString('latin1'), theirs.toString('latin1'), `#${i} ${JSON.stringify(args)}`);
  }
  return ours;
}

