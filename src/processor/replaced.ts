// `socket.replaced` from an orchestrator (distributed mode): the profile opened a newer socket on
// another node, so this node's socket of it ends with `bye: replaced` (4001), as it would had the
// new one opened here (lifecycle.ts onOpen). Only the very socket of the record is closed (same
// node, role, profile and open time): a late or repeated message never closes a newer socket.
// The Redis bus checked the record's shape (isSocketRecord) when it parsed the message.
import type { SocketRecord } from '../coordination/index.js';
import type { NodeContext } from './context.js';
import { bye } from './lifecycle.js';

export function onSocketReplaced(ctx: NodeContext, record: SocketRecord): void {
  if (record.node !== ctx.nodeId) return;
  const reg = record.role === 'officer' ? ctx.officers : ctx.citizens;
  const ud = reg.get(record.profileId);
  if (!ud || ud.closed || ud.openedAt !== record.at) {
    ctx.logger.debug({ role: record.role }, 'socket.replaced for a socket no longer here');
    return;
  }
  ctx.logger.debug({ profile: ud.id, role: ud.role }, 'socket replaced by a newer one on another node');
  bye(ctx, ud, 'replaced', true);
}
