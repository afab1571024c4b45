// The citizen area and speed rules (processor/citizen-area.ts) and the credential expiry queue,
// as units; test/embedded/officer-safety.test.ts drives both through the real servers.
import { describe, expect, it } from 'vitest';
import { haversine } from '../../src/geo/index.js';
import { checkCitizenMove, GPS_ALLOWANCE_M } from '../../src/processor/citizen-area.js';
import { ExpiryQueue } from '../../src/processor/expiry-queue.js';
import type { SocketData } from '../../src/processor/session.js';

const rules = { CITIZEN_AREA_M: 10_000, MAX_SPEED_KMH: 250 };
const at = (lat: number, lng: number, t = 0) => ({ areaLat: lat, areaLng: lng, anchorLat: lat, anchorLng: lng, anchorAt: t }) as SocketData;
const north = (lat: number, m: number) => lat + m / 111_195;

describe('citizen area and speed rules', () => {
  it('refuses a fix beyond CITIZEN_AREA_M of the assignment, whatever the time since', () => {
    const ud = at(40.758, -73.9855);
    expect(checkCitizenMove(rules, ud, north(40.758, 10_050), -73.9855, 3_600_000)).toBe('out_of_area');
    expect(checkCitizenMove(rules, ud, north(40.758, 9_900), -73.9855, 3_600_000)).toBeNull();
  });

  it('accepts GPS error at once, and distance the speed explains later', () => {
    const ud = at(40.758, -73.9855);
    expect(checkCitizenMove(rules, ud, north(40.758, GPS_ALLOWANCE_M - 1), -73.9855, 0)).toBeNull();
    const ud2 = at(40.758, -73.9855);
    expect(checkCitizenMove(rules, ud2, north(40.758, 1000), -73.9855, 1000)).toBe('implausible_move');
    // 250 km/h = 69.4 m/s: 1000 m needs (1000 - 100) / 69.4 ≈ 13 s.
    expect(checkCitizenMove(rules, ud2, north(40.758, 1000), -73.9855, 13_000)).toBeNull();
  });

  it('advances the anchor by the explained part only, so the allowance never accumulates', () => {
    const ud = at(40.758, -73.9855);
    let accepted = 0;
    for (let i = 1; i <= 50; i++) if (checkCitizenMove(rules, ud, north(40.758, 95 * i), -73.9855, i) === null) accepted++;
    expect(accepted).toBe(1);
    expect(haversine(40.758, -73.9855, ud.anchorLat, ud.anchorLng)).toBeLessThan(5);
  });

  it('follows a car at 100 km/h for an hour, one fix a second', () => {
    const ud = at(40.0, -100.0);
    const rulesFar = { CITIZEN_AREA_M: 0, MAX_SPEED_KMH: 250 };
    for (let s = 1; s <= 3600; s++) expect(checkCitizenMove(rulesFar, ud, north(40.0, (100_000 / 3600) * s), -100.0, s * 1000)).toBeNull();
  });

  it('moves across the antimeridian the short way', () => {
    const ud = at(52.0, 179.9995);
    // ~68 m east, across ±180°.
    expect(checkCitizenMove(rules, ud, 52.0, -179.9996, 10_000)).toBeNull();
    expect(ud.anchorLng).toBeCloseTo(-179.9996, 6);
    expect(checkCitizenMove(rules, ud, 52.0, 179.9, 10_100)).toBe('implausible_move');
  });

  it('turns each rule off at 0', () => {
    const ud = at(40.758, -73.9855);
    expect(checkCitizenMove({ CITIZEN_AREA_M: 0, MAX_SPEED_KMH: 0 }, ud, -33.9, 151.2, 0)).toBeNull();
    expect(checkCitizenMove({ CITIZEN_AREA_M: 0, MAX_SPEED_KMH: 250 }, at(0, 0), 10, 10, 0)).toBe('implausible_move');
    expect(checkCitizenMove({ CITIZEN_AREA_M: 10_000, MAX_SPEED_KMH: 0 }, at(0, 0), 10, 10, 0)).toBe('out_of_area');
  });
});

describe('ExpiryQueue', () => {
  it('expires each item once, at or after its time, never before; deleted items never', () => {
    const q = new ExpiryQueue<{ tokenExp: number; id: number }>(0);
    const items = Array.from({ length: 50 }, (_, id) => ({ id, tokenExp: 100 + id * 137 }));
    for (const it of items) q.add(it);
    q.delete(items[7]);
    const seen: number[] = [];
    for (let now = 0; now <= 10_000; now += 250) {
      q.sweep(now, (it) => {
        expect(it.tokenExp).toBeLessThanOrEqual(now);
        expect(now - it.tokenExp).toBeLessThan(250);
        seen.push(it.id);
      });
    }
    expect(seen.sort((a, b) => a - b)).toEqual(items.map((i) => i.id).filter((id) => id !== 7));
    expect(q.size).toBe(0);
  });
});
