// Connection requests relayed by the orchestrator on this node's bus channel (SPEC §1 step 5):
// `conn.req` → `req` to the officer's socket; `conn.update` → `conn` to whichever party is here
// (an accepted one also grants the citizen the officer's exact position, LiveIndex.grantExact);
// `socket.replaced` → `bye: replaced` to a socket a newer one on another node replaced (replaced.ts).
// The officer's `resp` goes back in handlers.ts.
import type { BusMessage } from '../coordination/index.js';
import type { NodeContext } from './context.js';
import { rememberRequest } from './lifecycle.js';
import { onSocketReplaced } from './replaced.js';
import { sendCorked } from './session.js';

export function onBusMessage(ctx: NodeContext, msg: BusMessage): void {
  switch (msg.type) {
    case 'conn.req': {
      const officer = ctx.officers.get(msg.officerId);
      if (!officer || officer.closed) {
        // The orchestrator routed it here but the officer is gone; the request will expire there.
        ctx.logger.debug({ request: msg.requestId, officer: msg.officerId }, 'conn.req for an officer without a socket here');
        return;
      }
      if (!rememberRequest(officer, msg.requestId, msg.expiresAt, ctx.now())) {
        ctx.metrics.requestsRefused.inc();
        ctx.logger.warn({ request: msg.requestId, officer: msg.officerId }, 'officer request table full; request not delivered (it will expire)');
        return;
      }
      sendCorked(ctx, officer, { t: 'req', id: msg.requestId, citizen: msg.citizen, expiresAt: msg.expiresAt });
      return;
    }
    case 'conn.update': {
      const { conn } = msg;
      const officer = ctx.officers.get(conn.officerId);
      if (officer) {
        officer.pending?.delete(conn.id);
        sendCorked(ctx, officer, { t: 'conn', ...conn });
      }
      const citizen = ctx.citizens.get(conn.citizenId);
      if (citizen) {
        sendCorked(ctx, citizen, { t: 'conn', ...conn });
        // Disclosure policy: this citizen socket may now see the officer's exact position (live.ts).
        if (conn.status === 'accepted' && ctx.live.grantExact(conn.citizenId, conn.officerId)) {
          ctx.logger.debug({ citizen: conn.citizenId, officer: conn.officerId }, 'exact position granted');
        }
      }
      return;
    }
    case 'socket.replaced':
      onSocketReplaced(ctx, msg.record);
      return;
    default:
      return; // orchestrator-bound messages are not for us
  }
}
