// The differential harness itself: a missing redis-server must fail loudly with the fix, and the
// reply framing used to cut replies apart must be right.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findRedisServer, replyEnd } from './redis-server.ts';

test('without redis-server on PATH the harness fails and says how to install it', () => {
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent-dir';
  try {
    assert.throws(() => findRedisServer(), /apt-get install -y redis-server/);
  } finally {
    process.env.PATH = saved;
  }
});

test('replyEnd frames RESP2 and RESP3 replies', () => {
  const r = (s: string): number => replyEnd(Buffer.from(s, 'latin1'), 0);
  assert.equal(r('+OK\r\n'), 5);
  assert.equal(r('$3\r\nabc\r\n'), 9);
  assert.equal(r('$3\r\nab'), -1);
  assert.equal(r('$-1\r\n'), 5);
  assert.equal(r('*2\r\n:1\r\n$1\r\nx\r\nrest'), 15);
  assert.equal(r('*2\r\n:1\r\n'), -1);
  assert.equal(r('%1\r\n+a\r\n:1\r\n'), 12);
  assert.equal(r('_\r\n'), 3);
  assert.equal(r(''), -1);
});
