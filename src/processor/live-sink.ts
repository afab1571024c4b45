// Where the live index's answers and pushes leave: the citizen's socket, through `send`. Built
// from the send context alone, before the live index exists (the index is built with it).
import type { ProcessorMetrics } from './metrics.js';
import type { LiveSink } from './live.js';
import { isBacklogged, send, sendCorked, type SendContext, type SocketData } from './session.js';

export function createLiveSink(sendCtx: SendContext, citizens: ReadonlyMap<string, SocketData>, metrics: ProcessorMetrics): LiveSink {
  return {
    nearest(cid, msg, reply) {
      const ud = citizens.get(cid);
      if (!ud) return false;
      if (reply) {
        ud.pushHeld = false;
        return send(sendCtx, ud, msg);
      }
      // Coalesced pushes never queue behind unsent bytes: hold it, `drain` re-marks the citizen.
      if (isBacklogged(ud)) {
        metrics.pushesHeld.inc();
        ud.pushHeld = true;
        return false;
      }
      return sendCorked(sendCtx, ud, msg);
    },
    near(cid, msg, reply) {
      const ud = citizens.get(cid);
      if (ud) (reply ? send : sendCorked)(sendCtx, ud, msg);
    },
    pushed(latencyS) {
      metrics.pushLatency.observe(latencyS);
    },
  };
}
