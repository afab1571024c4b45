// No harvesting (issue #10): a citizen socket answers for the place it was assigned, and only at
// the pace a person can move. Without these rules one account could send `loc` frames all over a
// city and map every officer in it. Both refusals are `err` frames and strikes (handlers.ts).
import { haversine } from '../geo/index.js';
import type { ProcessorConfig } from './api.js';
import type { SocketData } from './session.js';

/** Distance a fix may be off without implying a move (GPS error, a jump between cell towers). */
export const GPS_ALLOWANCE_M = 100;

export type MoveRefusal = 'out_of_area' | 'implausible_move';

/**
 * Checks a citizen `loc` against its assignment area (CITIZEN_AREA_M from the assignment
 * position) and against the speed limit (MAX_SPEED_KMH); `now` is wall ms, like the assignment
 * time the ticket carries. Returns the refusal, or null when the position is accepted.
 *
 * The speed rule keeps an anchor: where the device can be, at most, given where it was assigned
 * and how fast it can move. A fix is accepted within GPS_ALLOWANCE_M of the anchor plus what the
 * speed explains since the anchor's time; the anchor then advances toward the fix by the
 * explained part only. So the allowance never accumulates: a stream of fixes each 100 m further
 * gets no further than 100 m ahead of a point moving at MAX_SPEED_KMH.
 */
export function checkCitizenMove(
  config: Pick<ProcessorConfig, 'CITIZEN_AREA_M' | 'MAX_SPEED_KMH'>,
  ud: SocketData,
  lat: number,
  lng: number,
  now: number,
): MoveRefusal | null {
  if (config.CITIZEN_AREA_M > 0 && haversine(ud.areaLat, ud.areaLng, lat, lng) > config.CITIZEN_AREA_M) return 'out_of_area';
  if (config.MAX_SPEED_KMH <= 0) return null;
  const dist = haversine(ud.anchorLat, ud.anchorLng, lat, lng);
  const reach = (config.MAX_SPEED_KMH / 3.6) * (Math.max(0, now - ud.anchorAt) / 1000);
  if (dist > reach + GPS_ALLOWANCE_M) return 'implausible_move';
  if (dist <= reach) {
    ud.anchorLat = lat;
    ud.anchorLng = lng;
  } else {
    const f = reach / dist;
    ud.anchorLat += f * (lat - ud.anchorLat);
    ud.anchorLng = wrapLng(ud.anchorLng + f * wrapLng(lng - ud.anchorLng));
  }
  ud.anchorAt = now;
  return null;
}

/** A longitude difference or value brought into [-180, 180). */
function wrapLng(d: number): number {
  return ((((d + 180) % 360) + 360) % 360) - 180;
}
