// What `cluster up` prints of its nodes' JSON log lines by default: the lines a newcomer
// watches for, short; everything else only in the log files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failoverLine, prettyNodeLine } from '../../src/cli/node-log-lines.ts';
import { RESTART_MAX_DELAY_MS, RESTART_MIN_DELAY_MS, restartDelayMs } from '../../src/cli/cluster-supervisor.ts';

const T = Date.UTC(2026, 0, 2, 3, 4, 5);
const line = (o: object): string => JSON.stringify({ level: 30, time: T, node: 'n1', role: 'secondary', epoch: 1, ...o });

test('pretty lines: start, roles, failovers with their report and warnings are shown; the rest is left to the log file', () => {
  assert.equal(prettyNodeLine('n1', line({ msg: 'node n1 started', redis: '127.0.0.1:7001' })), '03:04:05 n1  started (redis 127.0.0.1:7001)');
  assert.equal(prettyNodeLine('n1', line({ msg: 'role: primary', newRole: 'primary', newEpoch: 3 })), '03:04:05 n1  role: primary (epoch 3)');
  const failover = { oldPrimary: 'n2', newPrimary: 'n1', oldEpoch: 2, newEpoch: 3, detectionMs: 301.4, electionMs: 12.6, failoverSyncMs: 40, shippedTo: { n3: 5, n4: 0 }, pulledFrom: {}, truncated: { n2: 2 }, regionsResynced: {}, acknowledgedWritesLost: 0, at: T };
  assert.equal(
    prettyNodeLine('n1', line({ msg: 'failover: n2 → n1, epoch 3', failover })),
    '03:04:05 n1  failover: n2 → n1, epoch 3 — detection 301 ms, election 13 ms, sync 40 ms (shipped n3:5; truncated n2:2), acknowledged writes lost: 0',
  );
  assert.equal(
    prettyNodeLine('n1', line({ level: 40, msg: 'closing peer connection: bad proof', code: 'PEER_AUTH_FAILED' })),
    '03:04:05 n1  WARN closing peer connection: bad proof [PEER_AUTH_FAILED]',
  );
  assert.equal(
    prettyNodeLine('n1', line({ level: 60, msg: 'node cannot continue: stopping the process', err: { code: 'LOG_IO', message: 'EIO: write failed' } })),
    '03:04:05 n1  FATAL node cannot continue: stopping the process: EIO: write failed [LOG_IO]',
  );
  // Ordinary info lines (and start-up chatter) stay in the file.
  for (const msg of ['update log opened', 'peer connected', 'RESP server listening', 'stopping', 'stopped']) assert.equal(prettyNodeLine('n1', line({ msg })), null, msg);
  // What is not a JSON log line (a crash's stack trace) is shown as it is.
  assert.equal(prettyNodeLine('n1', '    at Object.<anonymous> (file.ts:1:1)'), 'n1      at Object.<anonymous> (file.ts:1:1)');
  assert.equal(prettyNodeLine('n1', '42'), 'n1  42');
  assert.match(failoverLine({ ...failover, oldPrimary: null, shippedTo: {}, truncated: {} }), /^failover: \(none\) → n1, epoch 3 — detection 301 ms, election 13 ms, sync 40 ms, acknowledged writes lost: 0$/);
});

test('restart delays double from the minimum up to the ceiling', () => {
  assert.equal(restartDelayMs(1), RESTART_MIN_DELAY_MS);
  assert.equal(restartDelayMs(2), 2 * RESTART_MIN_DELAY_MS);
  assert.equal(restartDelayMs(3), 4 * RESTART_MIN_DELAY_MS);
  assert.equal(restartDelayMs(50), RESTART_MAX_DELAY_MS);
});
