// The admin HTTP surface of one node: status, cluster view, failover history,
// switchover, health/readiness, Prometheus metrics, a Server-Sent Events feed
// and the live dashboard. Built as a fastify instance that is not listening,
// so tests drive it with inject() and the host decides where it listens.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastify, { LogController } from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { Logger } from 'pino';
import type { NodeId } from '../../core/types.ts';
import { UnderstudyError } from '../../errors.ts';
import type { FailoverReport, NodeHandle } from '../../runtime/node-api.ts';
import type { Metrics } from '../metrics.ts';
import { bearerToken, tokenMatches } from './auth.ts';
import { PEER_STATUS_TIMEOUT_MS, fetchPeerJson, readCluster } from './cluster-view.ts';
import { EventHub } from './event-stream.ts';
import { FailoverHistory } from './failover-history.ts';
import { AdminHttpError, adminError, toAdminError } from './http-errors.ts';
import type { AdminError } from './http-errors.ts';
import { buildOpenApi } from './openapi.ts';
import { readinessOf } from './readiness.ts';
import {
  clusterSchema,
  demoReplySchema,
  eventsQuerySchema,
  failoversSchema,
  healthSchema,
  nodeStatusSchema,
  readySchema,
  seriesQuerySchema,
  seriesSchema,
  switchoverBodySchema,
  switchoverReplySchema,
} from './schemas.ts';
import { SERIES_INTERVAL_MS, Series } from './series.ts';

/** Admin request bodies are tiny ({ to }); anything bigger is a mistake or an attack. */
export const MAX_ADMIN_BODY_BYTES = 16 * 1024;
/** A switchover that has not finished by then is reported as still in progress, not hung. */
export const SWITCHOVER_TIMEOUT_MS = 5000;

export const DASHBOARD_DIR = fileURLToPath(new URL('../dashboard/', import.meta.url));
/** uPlot's browser build, served to the dashboard at /vendor/uplot/ (no CDN: the page works offline). */
export const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot'));

export interface AdminAppOptions {
  readonly node: NodeHandle;
  /** Admin base URL (e.g. http://10.0.0.2:7480) of a member, or undefined if it has none. */
  readonly peersAdmin: (id: NodeId) => string | undefined;
  /** When set, every route except /healthz, /readyz and static files needs `Authorization: Bearer <token>`. */
  readonly adminToken?: string | undefined;
  /** Demo mode: enables POST /demo/kill-primary. */
  readonly demo?: { killPrimary(): void } | undefined;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable without the admin token. */
    public?: boolean;
    /** A static file of the dashboard (not an API route, so not in the OpenAPI description). */
    static?: boolean;
  }
}

/** One registered route, as the app saw it being added (HEAD twins of GET routes left out). */
export interface AdminRoute {
  readonly method: string;
  readonly url: string;
  readonly public: boolean;
  readonly static: boolean;
}

export type AdminApp = FastifyInstance & { readonly adminRoutes: readonly AdminRoute[] };

export function buildAdminApp(opts: AdminAppOptions): AdminApp {
  const { node, metrics, demo, adminToken } = opts;
  const logger = opts.logger.child({ component: 'admin' });
  const app = fastify({
    loggerInstance: logger,
    // A dashboard and a scraper poll all day; per-request lines would drown the node's log.
    logController: new LogController({ disableRequestLogging: true }),
    // Closing (the node stopping) ends every connection at once: a dashboard's keep-alive or
    // event-stream connection, or a request waiting on a peer, must not hold the stop.
    forceCloseConnections: true,
    bodyLimit: MAX_ADMIN_BODY_BYTES,
    // Fastify's default strips unknown properties silently; unknown input must be refused instead.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  }) as unknown as FastifyInstance;

  // The route table, for introspection: the OpenAPI test checks it against the description.
  // Route options are kept by reference and read late, because hooks of inner scopes (the
  // static files' scope marks its routes) run after this one and still amend them.
  const seen: Array<{ method: string; r: { url?: string; path?: string; config?: { public?: boolean; static?: boolean } } }> = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) {
      if (method === 'HEAD') continue; // fastify mirrors every GET as HEAD; the GET describes both
      seen.push({ method, r });
    }
  });
  app.decorate('adminRoutes', {
    getter: (): readonly AdminRoute[] =>
      seen.map(({ method, r }) => ({ method, url: r.url ?? r.path ?? '', public: r.config?.public === true, static: r.config?.static === true })),
  });

  const history = new FailoverHistory();
  /** Reports taken from peers into a cluster-wide timeline, at most. */
  const MAX_MERGED_REPORTS = 100;
  const onFailover = (report: FailoverReport): void => {
    history.add(report);
    logger.info({ failover: report }, `failover: ${report.oldPrimary ?? '(none)'} → ${report.newPrimary}, epoch ${report.newEpoch}`);
  };
  node.on('failover', onFailover);
  const detachMetrics = metrics.observeNode(node);
  const series = new Series(node, metrics, (e) => logger.warn({ err: e }, 'series sample skipped: status unreadable'));
  const cluster = () => readCluster({ node, peersAdmin: opts.peersAdmin, adminToken, demo: demo !== undefined });
  const hub = new EventHub(node, series, cluster, logger);

  app.addHook('onReady', async () => series.start());
  // Event streams never end by themselves: end them before the server waits for connections.
  app.addHook('preClose', async () => hub.closeAll());
  app.addHook('onClose', async () => {
    series.stop();
    node.off('failover', onFailover);
    detachMetrics();
  });

  const send = (reply: FastifyReply, e: AdminError) => reply.code(e.status).send(e.body);

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (adminToken === undefined || req.routeOptions.config.public === true) return;
    let presented = bearerToken(req.headers.authorization);
    // EventSource cannot send headers, so the event stream also takes the token as a query parameter.
    if (presented === undefined && req.routeOptions.url === '/events') {
      const q = req.query as Record<string, unknown> | undefined;
      if (typeof q?.['access_token'] === 'string') presented = q['access_token'];
    }
    if (presented === undefined) return send(reply, adminError('NOAUTH', 'authentication required: send "Authorization: Bearer <admin token>"'));
    if (!tokenMatches(presented, adminToken)) return send(reply, adminError('NOAUTH', 'invalid admin token'));
  });

  app.setErrorHandler((e, _req, reply) => {
    const ae = toAdminError(e);
    if (ae.status >= 500) logger.error({ err: e }, 'admin request failed');
    return send(reply, ae);
  });
  app.setNotFoundHandler((req, reply) => send(reply, adminError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`)));

  const errorReplies = { 400: { $ref: 'adminError#' }, 401: { $ref: 'adminError#' } };
  app.addSchema({ $id: 'adminError', type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } });

  // ?digest=1 adds the storage area's digest (costly on a large store, so only on request).
  app.get('/status', { schema: { response: { 200: nodeStatusSchema, ...errorReplies } } }, async (req) =>
    node.status({ digest: (req.query as { digest?: unknown } | undefined)?.digest === '1' }),
  );

  app.get('/cluster', { schema: { response: { 200: clusterSchema, ...errorReplies } } }, async () => cluster());

  // Each failover report is made by the node that became primary; `?scope=cluster` merges the
  // reports every reachable member holds, so any node's page shows the whole timeline.
  app.get(
    '/failovers',
    {
      schema: {
        querystring: { type: 'object', properties: { scope: { type: 'string', enum: ['node', 'cluster'] } }, additionalProperties: false },
        response: { 200: failoversSchema, ...errorReplies },
      },
    },
    async (req) => {
      const mine = history.list();
      if ((req.query as { scope?: string }).scope !== 'cluster') return { reports: mine };
      const merged = new Map(mine.map((r) => [`${r.newEpoch}/${r.newPrimary}`, r]));
      const peers = node.members.filter((m) => m.id !== node.id).map((m) => opts.peersAdmin(m.id)).filter((b): b is string => b !== undefined);
      const answers = await Promise.all(peers.map((b) => fetchPeerJson(b, '/failovers', adminToken, PEER_STATUS_TIMEOUT_MS)));
      for (const a of answers) {
        if (!('body' in a)) continue;
        for (const r of (a.body as { reports?: FailoverReport[] }).reports ?? []) merged.set(`${r.newEpoch}/${r.newPrimary}`, r);
      }
      return { reports: [...merged.values()].sort((x, y) => y.at - x.at).slice(0, mine.length + MAX_MERGED_REPORTS) };
    },
  );

  // Write latency is measured where writes are answered, on the primary; the dashboard may be
  // served by any member, so it reads the primary's series through its own node.
  app.get('/series', { schema: { querystring: seriesQuerySchema, response: { 200: seriesSchema, ...errorReplies } } }, async (req) => {
    const other = (req.query as { node?: string }).node;
    if (other === undefined || other === node.id) return { node: node.id, intervalMs: SERIES_INTERVAL_MS, samples: series.list() };
    if (!node.members.some((m) => m.id === other)) throw new AdminHttpError(adminError('NOT_FOUND', `no member named ${other}`));
    const base = opts.peersAdmin(other);
    if (base === undefined) throw new AdminHttpError(adminError('NOT_FOUND', `no admin address configured for ${other}`));
    const r = await fetchPeerJson(base, '/series', adminToken, PEER_STATUS_TIMEOUT_MS);
    if ('error' in r) throw new AdminHttpError(adminError('PEER_UNREACHABLE', `series of ${other} unavailable: ${r.error}`));
    return r.body;
  });

  app.post(
    '/switchover',
    { schema: { body: switchoverBodySchema, response: { 200: switchoverReplySchema, ...errorReplies } } },
    async (req) => {
      const to = (req.body as { to?: string } | null | undefined)?.to;
      if (to !== undefined) {
        const member = node.members.find((m) => m.id === to);
        if (member === undefined) throw new AdminHttpError(adminError('NOT_FOUND', `no member named ${to}`));
        if (member.kind !== 'data') throw new UnderstudyError('SWITCHOVER_FAILED', `${to} is a witness: it holds no data and cannot become primary`);
      }
      const primary = node.primaryId();
      if (node.role() !== 'primary' && primary !== null && primary !== node.id) {
        // Only the primary can hand over: forward the request to it.
        const base = opts.peersAdmin(primary);
        if (base === undefined) throw new UnderstudyError('NOT_PRIMARY', `this node is not the primary and ${primary}'s admin address is unknown`);
        const res = await fetch(`${base.replace(/\/+$/, '')}/switchover`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(adminToken === undefined ? {} : { authorization: `Bearer ${adminToken}` }) },
          body: JSON.stringify(to === undefined ? {} : { to }),
          signal: AbortSignal.timeout(SWITCHOVER_TIMEOUT_MS + PEER_STATUS_TIMEOUT_MS),
        });
        const body = (await res.json()) as { ok?: boolean; primaryId?: string | null; epoch?: number; code?: string; message?: string };
        if (!res.ok) throw new UnderstudyError('SWITCHOVER_FAILED', `${primary} refused the switchover: ${body.message ?? res.status}`);
        return { ok: true, primaryId: body.primaryId ?? null, epoch: body.epoch ?? node.epoch() };
      }
      await switchover(node, to);
      return { ok: true, primaryId: node.primaryId(), epoch: node.epoch() };
    },
  );

  app.get('/healthz', { config: { public: true }, schema: { response: { 200: healthSchema } } }, async () => ({ ok: true }));

  app.get('/readyz', { config: { public: true }, schema: { response: { 200: readySchema, 503: readySchema } } }, async (_req, reply) => {
    const s = node.status();
    const r = readinessOf(s);
    if (r.ready) return { ready: true, role: s.role, epoch: s.epoch };
    return reply.code(503).send({ ready: false, role: s.role, epoch: s.epoch, code: r.code, reason: r.reason });
  });

  app.get('/metrics', async (_req, reply) => {
    metrics.refreshFrom(node.status());
    const { contentType, body } = await metrics.exposition();
    return reply.type(contentType).send(body);
  });

  app.get('/events', { schema: { querystring: eventsQuerySchema } }, async (req, reply) => {
    if (hub.full) return send(reply, adminError('TOO_MANY_CLIENTS', 'too many open event streams on this node'));
    reply.hijack();
    hub.attach(req.raw, reply.raw);
  });

  const openapi = buildOpenApi({ demo: demo !== undefined, auth: adminToken !== undefined });
  app.get('/openapi.json', async () => openapi);

  if (demo !== undefined) {
    app.post('/demo/kill-primary', { schema: { response: { 200: demoReplySchema, ...errorReplies } } }, async () => {
      const killed = node.primaryId();
      logger.warn({ killed }, 'demo: killing the primary on operator request');
      demo.killPrimary();
      return { ok: true, killed };
    });
  }

  // Static files: the dashboard and uPlot. Routes registered in this scope are marked public.
  app.register(async (scope) => {
    scope.addHook('onRoute', (r) => {
      r.config = { ...(r.config ?? {}), public: true, static: true };
    });
    await scope.register(fastifyStatic, { root: DASHBOARD_DIR, wildcard: false, index: ['index.html'], cacheControl: false });
    await scope.register(fastifyStatic, {
      root: UPLOT_DIR,
      prefix: '/vendor/uplot/',
      wildcard: false,
      decorateReply: false,
      // Only the browser build the page loads; the rest of the package has no business being served.
      globIgnore: ['*.d.ts', '*.cjs.js', '*.esm.js', 'uPlot.iife.js'],
    });
  });

  return app as AdminApp;
}

function switchover(node: NodeHandle, to: NodeId | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new UnderstudyError('FAILOVER_IN_PROGRESS', `switchover did not finish within ${SWITCHOVER_TIMEOUT_MS} ms; watch /cluster for the outcome`)),
      SWITCHOVER_TIMEOUT_MS,
    );
    node.switchover(to, (err) => {
      clearTimeout(timer);
      if (err === null) return resolve();
      // An error without a code from the node still means the switchover did not happen.
      reject(err instanceof UnderstudyError ? err : new UnderstudyError('SWITCHOVER_FAILED', err.message));
    });
  });
}
