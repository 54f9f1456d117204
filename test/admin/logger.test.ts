// The node logger: node, role and epoch on every line, following the node's
// role/epoch events. The node is the HTTP-layer harness (fake-node.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createNodeLogger } from '../../src/server/logger.ts';
import { makeFakeNode, makeStatus, members } from './fake-node.ts';

function sink() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c.toString('utf8'));
      cb();
    },
  });
  const lines = () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { stream, lines };
}

test('every line carries node, role and epoch, updated by role and epoch events', () => {
  const out = sink();
  const node = makeFakeNode('n2', makeStatus('n2', { role: 'secondary', epoch: 3 }), members(['n1', 'n2', 'n3']));
  const log = createNodeLogger({ nodeId: 'n2', level: 'debug', destination: out.stream });
  const stop = log.follow(node);
  log.logger.info('one');
  node.emitter.emit('role', 'candidate', 4);
  log.logger.child({ component: 'admin' }).debug('two');
  node.emitter.emit('role', 'primary', 4);
  node.emitter.emit('epoch', 5);
  log.logger.warn({ detail: 1 }, 'three');
  stop();
  assert.equal(node.listenerCount('role'), 0);
  assert.equal(node.listenerCount('epoch'), 0);
  node.emitter.emit('role', 'secondary', 9);
  log.logger.error('four');
  const picked = out.lines().map((l) => [l['msg'], l['node'], l['role'], l['epoch']]);
  assert.deepEqual(picked, [
    ['one', 'n2', 'secondary', 3],
    ['two', 'n2', 'candidate', 4],
    ['three', 'n2', 'primary', 5],
    ['four', 'n2', 'primary', 5], // no longer following: the last known values stay
  ]);
  const raw = out.lines()[2] as Record<string, unknown>;
  assert.equal(raw['detail'], 1);
});

test('the level comes from configuration', () => {
  const out = sink();
  const log = createNodeLogger({ nodeId: 'n1', level: 'warn', destination: out.stream });
  log.logger.info('hidden');
  log.logger.warn('shown');
  assert.deepEqual(out.lines().map((l) => l['msg']), ['shown']);
});

test('a line never repeats a key, however often the role changes', () => {
  const out = sink();
  const node = makeFakeNode('n1', makeStatus('n1'), members(['n1']));
  const log = createNodeLogger({ nodeId: 'n1', destination: out.stream });
  log.follow(node);
  for (let e = 1; e <= 50; e++) node.emitter.emit('role', e % 2 ? 'primary' : 'secondary', e);
  log.logger.info('x');
  const text = JSON.stringify(out.lines()[0]);
  const line = (out.lines()[0] ?? {}) as Record<string, unknown>;
  assert.equal(line['epoch'], 50);
  assert.equal(text.split('"role"').length - 1, 1);
});
