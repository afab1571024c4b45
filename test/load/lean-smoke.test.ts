// The harness with `--lean --area us` end to end: embedded Beacon and the echo baseline driven by
// the lean socket and pre-encoded frames, devices over the whole country. Zero errors, re-pushes
// matched to the officer positions as sent (the six-decimal rounding is what the ring holds), and
// the report's CPU per frame and shard balance.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runHarness } from './run-harness.js';

const out = mkdtempSync(join(tmpdir(), 'beacon-load-lean-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('lean generator, national placement', () => {
  it('runs Beacon and the echo baseline with zero errors and reports CPU per frame and shard balance', async () => {
    const r = await runHarness(
      [
        '--officers',
        '60',
        '--citizens',
        '240',
        '--warmup',
        '1',
        '--duration',
        '5',
        '--capacity',
        '2',
        '--echo-duration',
        '2',
        '--assign-seconds',
        '0',
        '--workers',
        '1',
        '--lean',
        '--area',
        'us',
        '--quiet',
        '--out',
        out,
      ],
      170_000,
    );
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const res = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    expect(res.config).toMatchObject({ lean: true, area: 'us' });
    expect(res.errors.total).toBe(0);
    expect(res.connect.count).toBe(300);
    expect(res.locToNearest.count).toBeGreaterThan(0);
    expect(res.capacity.locToNearest.count).toBeGreaterThan(0);
    expect(res.capacity.echoPerSec).toBeGreaterThan(0);
    // Re-pushes were matched to positions in the ring: the lean frames carry exactly what it holds.
    expect(res.throughput.pushes).toBeGreaterThan(0);
    expect(res.moveToRepush.count).toBeGreaterThan(0);
    for (const run of ['beacon', 'echo']) {
      for (const ph of ['steady', 'capacity']) {
        const x = res.cpuPerFrame[run][ph];
        expect(x.framesPerSec, `${run}.${ph}`).toBeGreaterThan(0);
        expect(x.generatorUs, `${run}.${ph}`).toBeGreaterThan(0);
        expect(x.serverUs, `${run}.${ph}`).toBeGreaterThan(0);
      }
    }
    expect(res.shards).toMatchObject({ area: 'us', devices: 300, officers: 60 });
    expect(res.shards.balance.map((b: { processors: number }) => b.processors)).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(r.stdout).toContain('cpu per frame, µs');
    expect(r.stdout).toContain('[--lean generator]');
    expect(r.stdout).toContain('shard balance of this placement (us,');
  }, 180_000);
});
