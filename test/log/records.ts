// Shared by the simulated-disk log tests: payloads that carry their own id and size (so a
// record read back proves which append it came from), and a synchronous readAll on a SimLoop.
import assert from 'node:assert/strict';
import type { LogRecord, UpdateLog } from '../../src/log/update-log.ts';
import type { SimLoop } from './sim-loop.ts';

export function payloadOf(id: number, size = 120): Uint8Array {
  const b = new Uint8Array(Math.max(8, size));
  const dv = new DataView(b.buffer);
  dv.setUint32(0, id, true);
  dv.setUint32(4, b.length, true);
  for (let i = 8; i < b.length; i++) b[i] = (id * 31 + i) & 0xff;
  return b;
}

export function idOf(p: Uint8Array): number {
  return new DataView(p.buffer, p.byteOffset, p.byteLength).getUint32(0, true);
}

/** Every record of the log, running the simulated loop until readAll completes. */
export function readAllOn(log: UpdateLog, loop: SimLoop): LogRecord[] {
  let out: LogRecord[] | undefined;
  log.readAll((err, recs) => {
    assert.equal(err, null);
    out = recs;
  });
  loop.runUntil(() => out !== undefined);
  assert.ok(out, 'readAll never completed');
  return out;
}
