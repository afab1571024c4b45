// The ProcessorDirectory of embedded mode.
import type { NodeInfo, ProcessorDirectory } from '../../coordination/index.js';

/** One node owning everything: embedded mode. */
export class SingleNodeDirectory implements ProcessorDirectory {
  constructor(private readonly node: NodeInfo) {}
  ownerOf(): NodeInfo {
    return this.node;
  }
  nodes(): NodeInfo[] {
    return [this.node];
  }
}
