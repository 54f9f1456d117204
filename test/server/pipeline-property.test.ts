// Property: however the bytes of a pipeline are split into TCP writes, and in
// whatever order the node completes the commands, the client receives exactly
// the replies of running the commands one by one, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RespServer } from '../../src/server/resp-server.ts';
import { SingleNodeHarness } from './single-node.ts';
import { cmd, rawConnect } from './raw-client.ts';

/** Ends the reference run's replies; no generated value can contain it (strings are at most 5 characters). */
const MARKER = 'end-of-pipeline-';

const command = fc.oneof(
  fc.tuple(fc.constant('SET'), fc.constantFrom('a', 'b', 'c'), fc.string({ maxLength: 5 })),
  fc.tuple(fc.constant('GET'), fc.constantFrom('a', 'b', 'c')),
  fc.tuple(fc.constant('APPEND'), fc.constantFrom('a', 'b'), fc.string({ maxLength: 3 })),
  fc.tuple(fc.constant('INCR'), fc.constantFrom('n', 'a')),
  fc.tuple(fc.constant('ECHO'), fc.string({ maxLength: 4 })),
  fc.tuple(fc.constant('PING')),
  fc.tuple(fc.constant('DEL'), fc.constantFrom('a', 'b', 'n')),
);

/** Sends `payload` in the given pieces and returns everything received once `expectedLength` bytes arrived. */
async function exchange(delays: readonly number[], pieces: readonly Buffer[], expectedLength: number | null, count: number): Promise<string> {
  let i = 0;
  const node = new SingleNodeHarness({ delayMs: () => delays[i++ % delays.length]! });
  const server = new RespServer({ node, port: 0 });
  const { port } = await server.listen();
  try {
    const c = await rawConnect(port);
    for (const p of pieces) c.write(p);
    // Without a known length (the reference run), wait for the final marker reply.
    const got = await c.until((d) => (expectedLength === null ? d.endsWith(`${MARKER}${count}\r\n`) : d.length >= expectedLength));
    c.end();
    return got;
  } finally {
    await server.close();
  }
}

test('replies are independent of chunking and of the node\'s completion order', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(command, { minLength: 1, maxLength: 40 }),
      fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 10 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
      async (cmds, delays, cuts) => {
        // A final ECHO of the count marks the end of the replies for the reference run.
        const payload = Buffer.from(cmds.map((c) => cmd(...c)).join('') + cmd('ECHO', `${MARKER}${cmds.length}`), 'latin1');
        const reference = await exchange([0], [payload], null, cmds.length);
        const pieces: Buffer[] = [];
        let at = 0;
        for (let k = 0; at < payload.length; k++) {
          const n = cuts[k % cuts.length]!;
          pieces.push(payload.subarray(at, at + n));
          at += n;
        }
        const got = await exchange(delays, pieces, reference.length, cmds.length);
        assert.equal(got, reference);
      },
    ),
    { numRuns: 40 },
  );
});
