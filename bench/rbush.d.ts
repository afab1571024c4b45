// Minimal typings for the two untyped peers of the bench (rbush 4 and rbush-knn 4 ship none).
declare module 'rbush' {
  export interface BBox {
    minX: number;
    minY: number;
    maxX: number;
    maxY: number;
  }
  export default class RBush<T extends BBox> {
    constructor(maxEntries?: number);
    insert(item: T): this;
    load(items: T[]): this;
    remove(item: T, equals?: (a: T, b: T) => boolean): this;
    search(bbox: BBox): T[];
    all(): T[];
    clear(): this;
  }
}

declare module 'rbush-knn' {
  import type RBush from 'rbush';
  import type { BBox } from 'rbush';
  export default function knn<T extends BBox>(tree: RBush<T>, x: number, y: number, n?: number, predicate?: (item: T) => boolean, maxDistance?: number): T[];
}
