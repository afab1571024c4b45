// The operators' bearer token for Prometheus scrapes (METRICS_TOKEN): when set, every `/metrics`
// (orchestrator, processor port, processor METRICS_PORT) requires `Authorization: Bearer <token>`.
// Compared in constant time over SHA-256 digests, so neither the content nor the length of the
// expected token shows in response times.
import { createHash, timingSafeEqual } from 'node:crypto';
import { bearerToken } from './jwt.js';

/** Headers longer than this are refused before any hashing. */
const MAX_AUTHORIZATION_LENGTH = 1024;

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * The check of one deployment's scrapes: `(authorization header) => allowed`. Without a token
 * configured every scrape is allowed (where /metrics is served at all is the caller's rule).
 */
export function metricsAccess(token: string | undefined): (authorization: string | undefined) => boolean {
  if (!token) return () => true;
  const want = digest(token);
  return (authorization) => {
    if (typeof authorization !== 'string' || authorization.length > MAX_AUTHORIZATION_LENGTH) return false;
    const given = bearerToken(authorization);
    return given !== undefined && timingSafeEqual(digest(given), want);
  };
}

/** The message of every 401 from /metrics. */
export const METRICS_UNAUTHORIZED = 'this /metrics requires the METRICS_TOKEN bearer token';

/** The `WWW-Authenticate` value of a 401 from /metrics. */
export const METRICS_CHALLENGE = 'Bearer realm="metrics"';
