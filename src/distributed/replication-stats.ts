// The replication counters of one processor, shared by the publisher, the cell listener and the
// replica (each bumps its own), read at scrape time as beacon_processor_replication{what}.
export interface ReplicatorStats {
  /** Local officer changes reported by the live index (each `loc`, `avail` change or leave). */
  localUpdates: number;
  /** Cell messages published, their sealed bytes, and the officer positions they carried. */
  published: number;
  publishedBytes: number;
  publishedUpserts: number;
  /** Redis commands sent for replication (PUBLISH, HSET, HDEL, PEXPIRE, HGETALL, beats). */
  commands: number;
  /** Replication commands that failed (each HSET, HDEL or PUBLISH; a whole flush while Redis is not ready counts its cells), in all and by cause. */
  publishFailed: number;
  publishFailedOffline: number;
  publishFailedTimeout: number;
  publishFailedQueueFull: number;
  publishFailedOther: number;
  /** Flushes put off because `maxInflight` commands were awaiting replies (backpressure). */
  flushesDeferred: number;
  /** Replication commands awaiting Redis' reply, and local officers with changes not yet sent (gauges). */
  inflight: number;
  backlog: number;
  /** Cell messages delivered here (own echoes included) and their bytes. */
  received: number;
  receivedBytes: number;
  /** Own messages echoed back by Redis, dropped unopened. */
  receivedOwn: number;
  /** Officer positions in the other nodes' messages received here. */
  receivedUpserts: number;
  malformed: number;
  /** Messages and snapshot entries sealed under another REPLICATION_KEY. */
  wrongKey: number;
  snapshotsRead: number;
  remoteOfficers: number;
  cells: number;
  expired: number;
}

export function newReplicatorStats(): ReplicatorStats {
  return {
    localUpdates: 0,
    published: 0,
    publishedBytes: 0,
    publishedUpserts: 0,
    commands: 0,
    publishFailed: 0,
    publishFailedOffline: 0,
    publishFailedTimeout: 0,
    publishFailedQueueFull: 0,
    publishFailedOther: 0,
    flushesDeferred: 0,
    inflight: 0,
    backlog: 0,
    received: 0,
    receivedBytes: 0,
    receivedOwn: 0,
    receivedUpserts: 0,
    malformed: 0,
    wrongKey: 0,
    snapshotsRead: 0,
    remoteOfficers: 0,
    cells: 0,
    expired: 0,
  };
}
