// Bearer-token authentication of the admin API. The token guards switchover,
// the demo kill switch and the cluster's internals; liveness, readiness and
// the dashboard's static files stay open so that orchestrators and browsers
// can reach them without the secret (the page asks for the token itself).
import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time comparison of a presented token with the configured one. */
export function tokenMatches(presented: string, expected: string): boolean {
  // Hash both so the comparison has a fixed length and leaks neither length nor content.
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token from `Authorization: Bearer <token>`, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}
