// In-process replicators over a real redis-server, with the processor side of the seam as plain
// data (what a real LiveIndex reports and receives): for replication tests that need to freeze
// Redis, count messages or restart a node under the same id, which OS-process nodes make slow.
import { connectRedis, type RedisConnection } from '../../src/adapters/redis/index.js';
import { Sealer } from '../../src/auth/index.js';
import { OfficerReplicator, type ReplicatorOptions } from '../../src/distributed/replication.js';
import type { ReplicaSeam } from '../../src/processor/api.js';
import type { LiveObserver } from '../../src/processor/live.js';
import type { PublicProfile } from '../../src/protocol/index.js';

const KEY = 'replicator-test-replication-key-0123456789';

/** The processor side of the seam, as plain data: what a real LiveIndex reports and receives. */
export class Seam implements ReplicaSeam {
  observer?: LiveObserver;
  readonly remote = new Map<string, { lat: number; lng: number }>();
  applyRemoteOfficer(id: string, pos: { lat: number; lng: number } | null, _profile: PublicProfile): void {
    if (pos) this.remote.set(id, pos);
    else this.remote.delete(id);
  }
  isLocalOfficer(): boolean {
    return false;
  }
  observe(o: LiveObserver): () => void {
    this.observer = o;
    return () => (this.observer = undefined);
  }
  sockets() {
    return [];
  }
}

export interface TestReplicator {
  r: OfficerReplicator;
  conn: RedisConnection;
  seam: Seam;
}

/** A started replicator on `url` with its own connections, once both are ready. */
export async function startReplicator(url: string, nodeId: string, opts: Partial<ReplicatorOptions> = {}): Promise<TestReplicator> {
  const [conn, sub] = [connectRedis({ url, name: `${nodeId}-cmd` }), connectRedis({ url, name: `${nodeId}-sub` })];
  await Promise.all([conn.ready(), sub.ready()]);
  const seam = new Seam();
  const r = new OfficerReplicator({ conn, sub, seam, sealer: new Sealer(KEY), nodeId, searchRadiusM: 2000, ...opts });
  r.start();
  return { r, conn, seam };
}
