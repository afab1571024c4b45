// `npm run chaos -- --quick` as a child process: a real redis-server, 2 orchestrators and
// 3 processors, four faults under load. Asserts on the JSON it writes, not on speed.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChaosResult } from '../../load-tests/chaos/report.js';

const dir = mkdtempSync(join(tmpdir(), 'beacon-chaos-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runChaos(out: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'load-tests/chaos/run.ts', '--quick', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d.toString()));
    p.stderr.on('data', (d) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      p.kill('SIGINT'); // the run kills its own redis-server and nodes on SIGINT
      reject(new Error(`chaos run did not finish in ${timeoutMs} ms\n${stderr.slice(-3000)}`));
    }, timeoutMs);
    p.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('chaos run (--quick)', () => {
  it('loses and duplicates nothing acknowledged, serves every device again after each fault, ends exact', async () => {
    const out = join(dir, 'chaos.json');
    const run = await runChaos(out, 280_000);
    const context = `exit ${run.code}\n${run.stdout}\n${run.stderr.slice(-3000)}`;
    expect(existsSync(out), `no JSON written\n${context}`).toBe(true);
    const r = JSON.parse(readFileSync(out, 'utf8')) as ChaosResult;
    expect(
      r.faults.map((f) => f.kind),
      context,
    ).toHaveLength(4);
    for (const f of r.faults) expect(f.recoveredS, `${f.kind} never recovered\n${context}`).not.toBeNull();
    expect(r.established.acknowledged, context).toBeGreaterThan(0);
    expect(r.established.lost, context).toBe(0);
    expect(r.established.duplicated, context).toBe(0);
    expect(r.devices.servedAtEnd, context).toBe(true);
    expect(r.exactAtEnd, context).toBe(true);
    expect(run.code, context).toBe(0);
  }, 300_000);
});
