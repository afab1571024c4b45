// Which processor nodes exist and which one owns a zip code's shard. Embedded mode has one node
// that owns every zip; distributed mode reads the Redis registry (rendezvous hashing over live nodes).

export interface NodeInfo {
  id: string;
  /** Public websocket URL devices open (the ticket is appended as `?ticket=`). */
  url: string;
  /**
   * Which run of the node this is (its start time, ms since the epoch): tickets name it, so a
   * node that restarted refuses tickets issued for its previous run.
   */
  epoch: number;
}

export interface ProcessorDirectory {
  /** The live node that owns the zip's shard, or undefined when there is none. */
  ownerOf(zip: string): NodeInfo | undefined;
  /** Live nodes. */
  nodes(): NodeInfo[];
}
