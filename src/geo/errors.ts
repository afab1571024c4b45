// Typed errors of the geometry layer: bad input is thrown, never silently indexed.

export type GeoErrorCode = 'bad_coordinates' | 'bad_radius' | 'bad_id' | 'bad_zip' | 'out_of_area' | 'bad_cell_size';

export class GeoError extends Error {
  constructor(
    readonly code: GeoErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'GeoError';
  }
}
