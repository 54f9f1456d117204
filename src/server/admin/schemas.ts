// JSON schemas of the admin API: fastify validates input with them and
// serializes output with them, and the OpenAPI description (openapi.ts) is
// built from the very same objects, so the two cannot drift apart.
//
// Output schemas list every field of the shapes in src/runtime/node-api.ts and
// mark them required: a status that lost a field fails loudly (500) instead of
// silently reaching the dashboard without it.

const lsn = { type: 'integer', minimum: 0 } as const;
const nodeId = { type: 'string', minLength: 1, maxLength: 128 } as const;
const countMap = { type: 'object', additionalProperties: { type: 'integer' } } as const;

export const errorSchema = {
  type: 'object',
  required: ['code', 'message'],
  properties: {
    code: { type: 'string', description: 'Stable code from the error catalogue (src/errors.ts), or one of the admin-only NOT_FOUND, PEER_UNREACHABLE, INTERNAL.' },
    message: { type: 'string' },
  },
} as const;

export const secondaryStatusSchema = {
  type: 'object',
  required: ['id', 'inDest', 'connection', 'sentLsn', 'ackedLsn', 'lagUpdates', 'lagMs', 'resyncRegions', 'incarnation'],
  properties: {
    id: nodeId,
    inDest: { type: 'boolean' },
    connection: { type: 'string', enum: ['connected', 'connecting', 'down'] },
    sentLsn: lsn,
    ackedLsn: lsn,
    lagUpdates: { type: 'integer', minimum: 0 },
    lagMs: { type: 'number', minimum: 0 },
    resyncRegions: { type: 'integer', minimum: 0 },
    incarnation: { type: 'integer', minimum: 0, description: 'The incarnation its reports come from (0: none heard yet); it grows when the node loses data.' },
  },
} as const;

export const inFlightSchema = {
  type: 'object',
  required: ['lsn', 'regions', 'sent', 'received'],
  properties: {
    lsn,
    regions: { type: 'array', items: { type: 'integer' } },
    sent: { type: 'array', items: nodeId, description: 'Claims 7–9: secondaries whose sent indicator is set.' },
    received: { type: 'array', items: nodeId, description: 'Claims 7–9: secondaries whose received indicator is set.' },
  },
} as const;

export const nodeStatusSchema = {
  type: 'object',
  required: ['id', 'role', 'epoch', 'primaryId', 'leaseValid', 'log', 'secondaries', 'inFlight', 'regionalCounters', 'dirtyRegions', 'incarnation', 'lostData', 'keys'],
  properties: {
    id: nodeId,
    role: { type: 'string', enum: ['primary', 'secondary', 'candidate', 'witness'] },
    epoch: { type: 'integer', minimum: 0 },
    primaryId: { type: ['string', 'null'] },
    leaseValid: { type: 'boolean' },
    log: {
      type: 'object',
      required: ['start', 'nextToClear', 'appliedLsn', 'commitLsn', 'lastLsn', 'durableLsn', 'bytes', 'segments'],
      properties: {
        start: lsn,
        nextToClear: lsn,
        appliedLsn: lsn,
        commitLsn: lsn,
        lastLsn: lsn,
        durableLsn: lsn,
        bytes: { type: 'integer', minimum: 0 },
        segments: { type: 'integer', minimum: 0 },
      },
    },
    secondaries: { type: 'array', items: secondaryStatusSchema },
    inFlight: { type: 'array', items: inFlightSchema },
    regionalCounters: { ...countMap, description: 'Claim 26: non-zero regional counters, region → outstanding acknowledgements.' },
    dirtyRegions: { type: 'array', items: { type: 'integer' } },
    incarnation: { type: 'integer', minimum: 0 },
    lostData: {
      type: ['object', 'null'],
      description: 'Set while this node lost data and is not refilled: it serves no reads and votes only above what the other voters reported (floor null: still asking them).',
      required: ['floor'],
      properties: {
        floor: {
          type: ['object', 'null'],
          required: ['epoch', 'lastEpoch', 'lastLsn'],
          properties: { epoch: { type: 'integer', minimum: 0 }, lastEpoch: { type: 'integer', minimum: 0 }, lastLsn: lsn },
        },
      },
    },
    keys: { type: 'integer', minimum: 0 },
    digest: { type: 'string' },
  },
} as const;

export const unreachableNodeSchema = {
  type: 'object',
  required: ['id', 'error'],
  properties: { id: nodeId, error: { type: 'string', description: 'Why this member\'s /status could not be read.' } },
} as const;

export const clusterSchema = {
  type: 'object',
  required: ['servedBy', 'demo', 'at', 'nodes', 'adminUrls'],
  properties: {
    servedBy: nodeId,
    adminUrls: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description: 'Admin base URL of each member that has an admin address (by member id), as configured: where a dashboard goes when its serving node stops answering.',
    },
    demo: { type: 'boolean', description: 'Whether POST /demo/kill-primary exists on this node.' },
    at: { type: 'integer', description: 'Wall clock (ms) when this view was assembled.' },
    nodes: {
      type: 'array',
      description: 'This node\'s status and every other member\'s, in membership order; a member that did not answer appears with its error.',
      items: { anyOf: [nodeStatusSchema, unreachableNodeSchema] },
    },
  },
} as const;

export const failoverReportSchema = {
  type: 'object',
  required: ['at', 'oldPrimary', 'newPrimary', 'oldEpoch', 'newEpoch', 'detectionMs', 'electionMs', 'failoverSyncMs', 'shippedTo', 'pulledFrom', 'truncated', 'regionsResynced'],
  properties: {
    at: { type: 'number' },
    oldPrimary: { type: ['string', 'null'] },
    newPrimary: nodeId,
    oldEpoch: { type: 'integer' },
    newEpoch: { type: 'integer' },
    detectionMs: { type: 'number' },
    electionMs: { type: 'number' },
    failoverSyncMs: { type: 'number' },
    shippedTo: countMap,
    pulledFrom: countMap,
    truncated: countMap,
    regionsResynced: countMap,
    committedBefore: { type: 'integer' },
    acknowledgedWritesLost: { type: 'integer' },
  },
} as const;

export const failoversSchema = {
  type: 'object',
  required: ['reports'],
  properties: { reports: { type: 'array', items: failoverReportSchema, description: 'Newest first.' } },
} as const;

export const switchoverBodySchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { to: { ...nodeId, description: 'Data member to hand the primary role to; omitted: the most up-to-date secondary.' } },
} as const;

export const switchoverReplySchema = {
  type: 'object',
  required: ['ok', 'primaryId', 'epoch'],
  properties: { ok: { type: 'boolean' }, primaryId: { type: ['string', 'null'] }, epoch: { type: 'integer' } },
} as const;

export const healthSchema = {
  type: 'object',
  required: ['ok'],
  properties: { ok: { type: 'boolean' } },
} as const;

export const readySchema = {
  type: 'object',
  required: ['ready', 'role', 'epoch'],
  properties: {
    ready: { type: 'boolean' },
    role: { type: 'string' },
    epoch: { type: 'integer' },
    code: { type: 'string', description: 'When not ready: the error-catalogue code of the reason.' },
    reason: { type: 'string' },
  },
} as const;

export const seriesSampleSchema = {
  type: 'object',
  required: ['t', 'commandsPerS', 'writesPerS', 'updatesPerS', 'p99WriteMs'],
  properties: {
    t: { type: 'number', description: 'Wall clock (ms) at the end of the interval.' },
    commandsPerS: { type: 'number' },
    writesPerS: { type: 'number' },
    updatesPerS: { type: 'number', description: 'Committed lsn advance per second (applied lsn on a secondary).' },
    p99WriteMs: { type: ['number', 'null'], description: 'p99 client write latency in the interval; null without writes.' },
  },
} as const;

export const seriesSchema = {
  type: 'object',
  required: ['node', 'intervalMs', 'samples'],
  properties: {
    node: { ...nodeId, description: 'The member whose measurements these are.' },
    intervalMs: { type: 'integer' },
    samples: { type: 'array', items: seriesSampleSchema, description: 'Oldest first.' },
  },
} as const;

export const seriesQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    node: { ...nodeId, description: 'Another member to read the series of (through this node); default this node.' },
  },
} as const;

export const demoReplySchema = {
  type: 'object',
  required: ['ok'],
  properties: { ok: { type: 'boolean' }, killed: { type: ['string', 'null'] } },
} as const;

export const eventsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    access_token: { type: 'string', description: 'The admin token, for EventSource clients that cannot send an Authorization header.' },
  },
} as const;
