// Every admin error is JSON { code, message } with a stable code. Codes come
// from the error catalogue (src/errors.ts); the HTTP layer adds the three it
// has no entry for: NOT_FOUND (no such route or member), PEER_UNREACHABLE (a
// member this node asked on the caller's behalf did not answer) and INTERNAL
// (a bug).
import { ERRORS, isUnderstudyError } from '../../errors.ts';
import type { ErrorCode } from '../../errors.ts';

export type AdminErrorCode = ErrorCode | 'NOT_FOUND' | 'PEER_UNREACHABLE' | 'INTERNAL';

const LOCAL_STATUS = { NOT_FOUND: 404, PEER_UNREACHABLE: 502, INTERNAL: 500 } as const;

export interface AdminError {
  readonly status: number;
  readonly body: { readonly code: AdminErrorCode; readonly message: string };
}

export function adminError(code: AdminErrorCode, message: string, status?: number): AdminError {
  const http = status ?? (code in LOCAL_STATUS ? LOCAL_STATUS[code as keyof typeof LOCAL_STATUS] : ERRORS[code as ErrorCode].http);
  return { status: http, body: { code, message } };
}

/** Thrown by handlers for an admin-level error that has no UnderstudyError. */
export class AdminHttpError extends Error {
  override name = 'AdminHttpError';
  constructor(readonly error: AdminError) {
    super(error.body.message);
  }
}

/** Maps anything thrown by a handler, fastify itself or the node to an AdminError. */
export function toAdminError(e: unknown): AdminError {
  if (e instanceof AdminHttpError) return e.error;
  if (isUnderstudyError(e)) return adminError(e.code, e.message);
  if (typeof e === 'object' && e !== null) {
    const fe = e as { validation?: unknown; statusCode?: unknown; code?: unknown; message?: unknown };
    const message = typeof fe.message === 'string' ? fe.message : 'request failed';
    // Schema validation and body parsing failures: the request is malformed.
    if (fe.validation !== undefined) return adminError('SYNTAX', `invalid request: ${message}`);
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      if (fe.statusCode === 413) return adminError('RESP_TOO_LARGE', message, 413);
      if (fe.statusCode === 404) return adminError('NOT_FOUND', message);
      return adminError('SYNTAX', message, fe.statusCode);
    }
  }
  return adminError('INTERNAL', 'internal error (see the node log)');
}
