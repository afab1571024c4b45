// Typed arrays that grow by copying: the dense stores of the spatial core (officer store, block
// map, subscription index) keep their records in them.

/** `a` when it already holds `capacity` elements, else a copy that does, new elements set to `fill`. */
export function grow<T extends Int32Array | Float64Array | Uint8Array>(a: T, capacity: number, fill: number): T {
  if (a.length >= capacity) return a;
  const b = new (a.constructor as new (n: number) => T)(capacity);
  b.set(a);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}
