// Readiness: may a load balancer send clients to this node right now?
// Liveness (/healthz) only says the process answers; readiness says the node
// can serve: a primary holding a valid lease (so its reads are linearizable and
// its writes can commit), or a data secondary following a known primary with
// no region waiting for a resync (its reads would be stale beyond its log).
import type { ErrorCode } from '../../errors.ts';
import type { NodeStatus } from '../../runtime/node-api.ts';

export type Readiness = { readonly ready: true } | { readonly ready: false; readonly code: ErrorCode; readonly reason: string };

export function readinessOf(s: NodeStatus): Readiness {
  switch (s.role) {
    case 'primary':
      if (!s.leaseValid) return { ready: false, code: 'LEASE_EXPIRED', reason: 'primary without a lease confirmed by a majority: it may be deposed' };
      return { ready: true };
    case 'secondary':
      if (s.lostData !== null) return { ready: false, code: 'DATA_LOST', reason: 'this node lost its data and is being refilled from the primary' };
      if (s.primaryId === null) return { ready: false, code: 'FAILOVER_IN_PROGRESS', reason: 'secondary not connected to any primary' };
      if (s.dirtyRegions.length > 0) return { ready: false, code: 'REGION_RESYNC', reason: `${s.dirtyRegions.length} region(s) waiting for a resync from the primary` };
      return { ready: true };
    case 'candidate':
      return { ready: false, code: 'FAILOVER_IN_PROGRESS', reason: 'election in progress' };
    case 'witness':
      return { ready: false, code: 'NOT_PRIMARY', reason: 'a witness holds no data and serves no clients' };
  }
}
