import { describe, expect, it } from 'vitest';
import { hash53, rendezvousOwner } from '../../src/coordination/index.js';

const nodes = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `proc-${i}`, url: `ws://h${i}/ws` }));
const zips = Array.from({ length: 20_000 }, (_, i) => String(i * 5).padStart(5, '0'));

describe('rendezvous hashing', () => {
  it('is deterministic and independent of the order of the node list', () => {
    const a = nodes(5);
    const b = [...a].reverse();
    for (const z of zips.slice(0, 2000)) expect(rendezvousOwner(z, a)!.id).toBe(rendezvousOwner(z, b)!.id);
  });

  it('spreads zips evenly over the nodes', () => {
    const ns = nodes(4);
    const count = new Map<string, number>();
    for (const z of zips) {
      const id = rendezvousOwner(z, ns)!.id;
      count.set(id, (count.get(id) ?? 0) + 1);
    }
    for (const c of count.values()) {
      expect(c).toBeGreaterThan((zips.length / 4) * 0.9);
      expect(c).toBeLessThan((zips.length / 4) * 1.1);
    }
  });

  it("moves only the removed node's zips when a node leaves (~1/N)", () => {
    const before = nodes(5);
    const after = before.filter((n) => n.id !== 'proc-2');
    let moved = 0;
    for (const z of zips) {
      const o1 = rendezvousOwner(z, before)!.id;
      const o2 = rendezvousOwner(z, after)!.id;
      if (o1 !== o2) {
        moved++;
        expect(o1).toBe('proc-2'); // nothing moves between survivors
      }
    }
    expect(moved / zips.length).toBeGreaterThan(0.15);
    expect(moved / zips.length).toBeLessThan(0.25);
  });

  it('moves ~1/(N+1) of zips, all to the new node, when a node joins', () => {
    const before = nodes(4);
    const after = nodes(5);
    let moved = 0;
    for (const z of zips) {
      const o1 = rendezvousOwner(z, before)!.id;
      const o2 = rendezvousOwner(z, after)!.id;
      if (o1 !== o2) {
        moved++;
        expect(o2).toBe('proc-4');
      }
    }
    expect(moved / zips.length).toBeGreaterThan(0.15);
    expect(moved / zips.length).toBeLessThan(0.25);
  });

  it('has no owner without nodes and handles hostile keys', () => {
    expect(rendezvousOwner('10001', [])).toBeUndefined();
    const ns = nodes(3);
    for (const k of ['', '\u0000', 'x'.repeat(100_000), '{beacon}', '😀']) expect(ns).toContain(rendezvousOwner(k, ns));
    expect(Number.isSafeInteger(hash53('abc'))).toBe(true);
  });
});
