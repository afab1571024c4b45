// Size limits every boundary shares: the orchestrator's schemas and token checks, the processor's
// frame validation and ticket check, the client library and the map. Defined once, here.

/** Profile, account, request and officer ids: non-empty, at most this many characters. */
export const MAX_ID_LENGTH = 128;
/** A bearer token longer than this is refused before any parsing (a provider's JWT is well below). */
export const MAX_TOKEN_LENGTH = 8192;
/** Public-profile strings (name, badge, precinct) are cut to this: they are shown on a phone. */
export const MAX_PROFILE_FIELD_LENGTH = 64;
/**
 * Unanswered connection requests one officer may have at once: the orchestrator refuses more
 * (`429 officer_busy`) and the processor's per-socket table holds as many.
 */
export const MAX_PENDING_PER_OFFICER = 32;

/** A usable id: a non-empty string of at most MAX_ID_LENGTH characters. */
export function isId(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_LENGTH;
}
