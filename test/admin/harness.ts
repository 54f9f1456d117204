// Builds an admin app over the HTTP-layer harness (fake-node.ts): three data
// members n1 (primary), n2, n3, with the peers' admin apps optionally served
// on real 127.0.0.1 ports so that /cluster reads them over HTTP.
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from 'pino';
import type { AdminApp } from '../../src/server/admin/app.ts';
import { buildAdminApp } from '../../src/server/admin/app.ts';
import { Metrics } from '../../src/server/metrics.ts';
import type { NodeId } from '../../src/core/types.ts';
import { makeFakeNode, makeStatus, members, primaryStatus } from './fake-node.ts';
import type { FakeNode } from './fake-node.ts';

export const IDS = ['n1', 'n2', 'n3'] as const;

/** A logger that keeps its lines in memory (tests read them; the console stays quiet). */
export function memoryLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export interface Built {
  readonly app: AdminApp;
  readonly node: FakeNode;
  readonly metrics: Metrics;
  killed: number;
}

export interface BuildOptions {
  readonly id?: NodeId;
  readonly adminToken?: string;
  readonly demo?: boolean;
  readonly peersAdmin?: (id: NodeId) => string | undefined;
}

export function build(opts: BuildOptions = {}): Built {
  const id = opts.id ?? 'n1';
  const status = id === 'n1' ? primaryStatus('n1', ['n2', 'n3'], 100) : makeStatus(id, { log: { ...makeStatus(id).log, appliedLsn: 97, commitLsn: 97, lastLsn: 100, durableLsn: 100 } });
  const node = makeFakeNode(id, status, members(IDS));
  const metrics = new Metrics({ nodeId: id });
  const built: Built = {
    app: null as unknown as AdminApp,
    node,
    metrics,
    killed: 0,
  };
  (built as { app: AdminApp }).app = buildAdminApp({
    node,
    metrics,
    logger: memoryLogger().logger,
    peersAdmin: opts.peersAdmin ?? (() => undefined),
    adminToken: opts.adminToken,
    demo: opts.demo ? { killPrimary: () => void built.killed++ } : undefined,
  });
  return built;
}
