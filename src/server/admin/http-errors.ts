// Every admin error is JSON { code, message } with a stable code. Codes come
// from the error catalogue (src/errors.ts); the HTTP layer adds the two it has
// no entry for: NOT_FOUND (no such route or member) and INTERNAL (a bug).
import { ERRORS, isUnderstudyError } from '../../errors.ts';
import type { ErrorCode } from '../../errors.ts';

export type AdminErrorCode = ErrorCode | 'NOT_FOUND' | 'INTERNAL';

export interface AdminError {
  readonly status: number;
  readonly body: { readonly code: AdminErrorCode; readonly message: string };
}

export function adminError(code: AdminErrorCode, message: string, status?: number): AdminError {
  const http = status ?? (code === 'NOT_FOUND' ? 404 : code === 'INTERNAL' ? 500 : ERRORS[code].http);
  return { status: http, body: { code, message } };
}

/** Maps anything thrown by a handler, fastify itself or the node to an AdminError. */
export function toAdminError(e: unknown): AdminError {
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
