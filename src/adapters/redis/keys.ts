// Every Redis key and hash tag of distributed mode in one place.
//
// On a Redis Cluster a multi-key command or Lua script needs all its keys in one slot, which the
// `{...}` hash tag decides. What must be atomic together shares a tag:
// * `{<prefix>}`: the registry (node keys + index) and the per-node stats (hash + index): small,
//   read as a whole every second by every orchestrator;
// * `{<prefix>:established}`: the established-connections stream and its dedupe keys, so the
//   exactly-once script (check dedupe key, XADD) runs in one slot;
// * one tag per socket record and per connection request: these are many and independent, so they
//   spread over the cluster; their scripts touch one key each.
// A prefix lets several deployments share one Redis; ids are used verbatim after it.

import { MAX_ID_LENGTH } from '../../protocol/index.js';

export const DEFAULT_PREFIX = 'beacon';

export function redisKeys(prefix = DEFAULT_PREFIX) {
  const reg = `${prefix}:{${prefix}}`;
  const est = `${prefix}:{${prefix}:established}`;
  return {
    /** SET of announced node ids (an index; liveness is the node key's TTL). */
    nodeIndex: `${reg}:nodes`,
    /** Prefix of the per-node announcement keys: `nodePrefix + id` holds JSON with a PX TTL. */
    nodePrefix: `${reg}:node:`,
    node: (id: string) => `${reg}:node:${id}`,
    /** SET of node ids that have a stats hash. */
    statsIndex: `${reg}:stats`,
    statsPrefix: `${reg}:stats:`,
    stats: (id: string) => `${reg}:stats:${id}`,
    /** SET of node ids that have socket records, so the records of a dead node can be found. */
    socketNodes: `${reg}:socknodes`,
    /** One busy-socket record (JSON), by role and profile. */
    socket: (role: string, profileId: string) => `${prefix}:sock:{${role}:${profileId}}`,
    /** SET of `role:profileId` recorded by one node. */
    nodeSockets: (nodeId: string) => `${prefix}:socks:{node:${nodeId}}`,
    /** One connection request (HASH). */
    request: (id: string) => `${prefix}:req:{${id}}`,
    /**
     * An officer's pending requests (HASH citizen id → `<request id>|<expiresAt>`): the pair rule
     * and the per-officer cap, checked in one script on the officer's slot.
     */
    officerRequests: (officerId: string) => `${prefix}:offreq:{officer:${officerId}}`,
    /**
     * Requests not decided yet (ZSET id → when someone must look at it: expiresAt while pending,
     * the lease end while accepting). One slot: it holds only requests in flight.
     */
    openRequests: `${prefix}:{${prefix}:requests}:open`,
    /** The established-connections stream. */
    stream: est,
    /** Dedupe marker of one event id: holds the stream entry id. */
    seen: (eventId: string) => `${est}:seen:${eventId}`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;

/** Throws TypeError unless `v` is a usable id: a non-empty string of at most MAX_ID_LENGTH chars. */
export function checkId(what: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_ID_LENGTH) {
    throw new TypeError(`${what} must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  }
  return v;
}

/** Throws TypeError unless `v` is a finite number. */
export function checkNumber(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${what} must be a finite number`);
  return v;
}
