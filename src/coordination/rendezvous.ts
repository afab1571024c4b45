// Rendezvous (highest-random-weight) hashing: the owner of a key is the node with the highest
// hash(node id, key). Every party computing it over the same live set agrees without talking,
// and when a node joins or leaves only the keys it wins or held move (~1/N of them).

/** cyrb53: a fast 53-bit string hash with good avalanche; not cryptographic (it needs not be). */
export function hash53(s: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** The node with the highest weight for `key`; ties (practically never) go to the smaller id. */
export function rendezvousOwner<T extends { id: string }>(key: string, nodes: readonly T[]): T | undefined {
  let best: T | undefined;
  let bestW = -1;
  for (const n of nodes) {
    const w = hash53(`${n.id}\u0000${key}`);
    if (w > bestW || (w === bestW && best !== undefined && n.id < best.id)) {
      best = n;
      bestW = w;
    }
  }
  return best;
}
