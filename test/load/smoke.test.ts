// A short run of the real harness in the test suite: it starts embedded Beacon itself (a child on
// free ports), a few hundred devices for a few seconds, both baselines, and must write a
// well-formed report with zero errors.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runHarness } from './run-harness.js';

const out = mkdtempSync(join(tmpdir(), 'beacon-load-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('load harness smoke run', () => {
  it('drives a few hundred devices through embedded Beacon and writes a complete report with zero errors', async () => {
    const r = await runHarness(
      [
        '--officers',
        '60',
        '--citizens',
        '240',
        '--warmup',
        '1',
        '--duration',
        '4',
        '--capacity',
        '1',
        '--echo-duration',
        '2',
        '--assign-seconds',
        '1',
        '--assign-connections',
        '10',
        '--workers',
        '1',
        '--quiet',
        '--out',
        out,
      ],
      150_000,
    );
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const res = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    for (const k of ['config', 'locToNearest', 'moveToRepush', 'echoRatio', 'assign', 'errors', 'throughput', 'timeline', 'server', 'generator'])
      expect(res, k).toHaveProperty(k);
    expect(res.config).toMatchObject({ officers: 60, citizens: 240, durationS: 4 });
    expect(res.errors.total).toBe(0);
    for (const key of ['locToNearest', 'moveToRepush']) {
      for (const f of ['count', 'p50', 'p90', 'p99', 'p999', 'max']) expect(typeof res[key][f], `${key}.${f}`).toBe('number');
    }
    expect(res.locToNearest.count).toBeGreaterThan(0);
    // The warm-up ran the same load and its samples were kept apart from the steady figures.
    expect(res.warmup.seconds).toBeGreaterThanOrEqual(1);
    expect(res.warmup.locToNearest.count).toBeGreaterThan(0);
    expect(res.timeline.some((p: { phase: string }) => p.phase === 'warmup')).toBe(true);
    expect(res.locToNearest.p50).toBeLessThanOrEqual(res.locToNearest.p99);
    expect(res.connect.count).toBe(300);
    expect(typeof res.echoRatio).toBe('number');
    expect(res.echoRatio).toBeGreaterThan(0);
    for (const f of ['perSec', 'p99', 'fastifyRatio', 'perCoreRatio', 'cpuUsPerReq']) expect(typeof res.assign[f], `assign.${f}`).toBe('number');
    expect(res.assign.fastify.non2xx).toBe(0);
    expect(res.assign.perSec).toBeGreaterThan(0);
    expect(res.assign.non2xx).toBe(0);
    expect(res.timeline.length).toBeGreaterThan(3);
    const html = readFileSync(join(out, 'latest.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|https?:\/\/(?!127\.0\.0\.1)[a-z]/i); // opens offline: no scripts, no remote URLs
    expect(r.stdout).toContain('citizen loc → nearest');
    expect(r.stdout).toContain('loc → nearest, warm-up');
    // The re-push volume (coalesced pushes received by citizens), coarse ones among them.
    expect(r.stdout).toContain('re-push volume (steady):');
    for (const f of ['pushes', 'pushesCoarse', 'pushesPerSec']) expect(typeof res.throughput[f], `throughput.${f}`).toBe('number');
    expect(res.throughput.pushesCoarse).toBeLessThanOrEqual(res.throughput.pushes);
  }, 180_000);

  it('connections mode: connects every socket and reports the connect rate and its CPU cost per device', async () => {
    const r = await runHarness(['--mode', 'connections', '--sockets', '300', '--duration', '1', '--quiet', '--out', out], 120_000);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const res = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    expect(res.connections).toMatchObject({ requested: 300, connected: 300, failed: 0 });
    // connectSeconds is rounded to 0.1 s in the JSON, connectPerSec computed before that.
    const k = res.connections;
    expect(Math.abs(k.connectPerSec * k.connectSeconds - 300)).toBeLessThanOrEqual(k.connectPerSec * 0.05 + 1);
    for (const f of ['serverCpuUsPerDevice', 'generatorCpuUsPerDevice']) expect(res.connections.connectCost[f], f).toBeGreaterThan(0);
    expect(res.connections.connectCost.eluMax).toBeGreaterThan(0);
    expect(res.errors.total).toBe(0);
    expect(r.stdout).toMatch(/connected 300, failed 0, in [\d.]+ s = \d+ devices\/s/);
    expect(r.stdout).toContain('connect phase CPU per device: server');
  }, 150_000);

  it('refuses a non-loopback target before sending anything', async () => {
    const r = await runHarness(['--target', 'http://10.1.2.3:8080', '--jwt-secret', 'x'.repeat(32), '--quiet', '--out', out], 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/only drives loopback/);
  }, 60_000);
});
