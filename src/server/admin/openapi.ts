// The OpenAPI 3.1 description of the admin API, served at GET /openapi.json.
// Paths are written out here (a reader sees the whole API in one place); the
// schemas are the ones fastify validates with (schemas.ts). A test checks that
// every registered route is described and every described path is registered.
import {
  clusterSchema,
  demoReplySchema,
  errorSchema,
  failoversSchema,
  healthSchema,
  nodeStatusSchema,
  readySchema,
  seriesSchema,
  switchoverBodySchema,
  switchoverReplySchema,
} from './schemas.ts';

const json = (schema: unknown) => ({ 'application/json': { schema } });
const err = (description: string) => ({ description, content: json({ $ref: '#/components/schemas/Error' }) });
const unauthorized = err('Missing or wrong admin token (code NOAUTH).');
const secured = [{ bearer: [] }];

export interface OpenApiOptions {
  readonly demo: boolean;
  readonly auth: boolean;
  readonly version?: string;
}

export function buildOpenApi(opts: OpenApiOptions): Record<string, unknown> {
  const security = opts.auth ? secured : [];
  const guarded = (op: Record<string, unknown>) => ({
    ...op,
    security,
    responses: { ...(op['responses'] as object), ...(opts.auth ? { 401: unauthorized } : {}) },
  });
  const paths: Record<string, Record<string, unknown>> = {
    '/': {
      get: { summary: 'The live dashboard (static HTML; its scripts and styles are served next to it).', security: [], responses: { 200: { description: 'HTML page', content: { 'text/html': {} } } } },
    },
    '/status': {
      get: guarded({ summary: 'Status of this node.', responses: { 200: { description: 'NodeStatus', content: json({ $ref: '#/components/schemas/NodeStatus' }) } } }),
    },
    '/cluster': {
      get: guarded({
        summary: 'This node\'s status and every other member\'s, read over HTTP with a short timeout; an unreachable member appears with its error.',
        responses: { 200: { description: 'Cluster view', content: json(clusterSchema) } },
      }),
    },
    '/failovers': {
      get: guarded({
        summary: 'Failover reports this node has seen, newest first (bounded list); with scope=cluster, merged with every reachable member\'s.',
        parameters: [{ name: 'scope', in: 'query', required: false, schema: { type: 'string', enum: ['node', 'cluster'] } }],
        responses: { 200: { description: 'Reports', content: json(failoversSchema) } },
      }),
    },
    '/switchover': {
      post: guarded({
        summary: 'Hand the primary role to another data member (planned failover).',
        requestBody: { required: false, content: json(switchoverBodySchema) },
        responses: {
          200: { description: 'Switchover done', content: json(switchoverReplySchema) },
          400: err('Malformed body (code SYNTAX).'),
          404: err('No data member with that id (code NOT_FOUND).'),
          409: err('Switchover refused or failed (e.g. SWITCHOVER_FAILED, NOT_PRIMARY).'),
          503: err('No quorum or failover in progress.'),
        },
      }),
    },
    '/healthz': {
      get: { summary: 'Liveness: the process answers.', security: [], responses: { 200: { description: 'Alive', content: json(healthSchema) } } },
    },
    '/readyz': {
      get: {
        summary: 'Readiness: primary with a valid lease, or secondary following a primary with no region awaiting resync.',
        security: [],
        responses: { 200: { description: 'Ready', content: json(readySchema) }, 503: { description: 'Not ready, with the reason', content: json(readySchema) } },
      },
    },
    '/metrics': {
      get: guarded({ summary: 'Prometheus metrics (text exposition format).', responses: { 200: { description: 'Metrics', content: { 'text/plain': { schema: { type: 'string' } } } } } }),
    },
    '/series': {
      get: guarded({
        summary: 'Rolling window (last 5 minutes) of throughput and p99 write latency measured on this node, or on another member through this one, one sample per second.',
        parameters: [{ name: 'node', in: 'query', required: false, schema: { type: 'string' }, description: 'Member to read the series of; default this node.' }],
        responses: {
          200: { description: 'Samples', content: json(seriesSchema) },
          404: err('No member with that id, or none with an admin address (code NOT_FOUND).'),
          502: err('That member did not answer (code PEER_UNREACHABLE).'),
        },
      }),
    },
    '/events': {
      get: guarded({
        summary: 'Server-Sent Events: `series` on connect, `cluster` snapshots about every 500 ms, `sample` every second, `failover` reports as they happen.',
        parameters: [{ name: 'access_token', in: 'query', required: false, schema: { type: 'string' }, description: 'Admin token for EventSource clients, which cannot set headers.' }],
        responses: { 200: { description: 'Event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } }, 503: err('Too many open event streams (code TOO_MANY_CLIENTS).') },
      }),
    },
    '/openapi.json': {
      get: guarded({ summary: 'This description.', responses: { 200: { description: 'OpenAPI 3.1 document', content: json({ type: 'object' }) } } }),
    },
  };
  if (opts.demo) {
    paths['/demo/kill-primary'] = {
      post: guarded({
        summary: 'Demo mode only: kill the current primary to watch a failover. Absent (404) unless the node runs in demo mode.',
        responses: { 200: { description: 'Primary killed', content: json(demoReplySchema) } },
      }),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'understudy admin API',
      version: opts.version ?? '0.1.0',
      description: 'Operator surface of one understudy node. Errors are JSON { code, message } with stable codes.',
    },
    paths,
    components: {
      schemas: { NodeStatus: nodeStatusSchema, Error: errorSchema },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
  };
}
