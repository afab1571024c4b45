// deploy/prometheus/alerts.yml through Prometheus's own tool: `promtool check rules` (syntax,
// PromQL, templates) and `promtool test rules` (the unit tests in alerts.test.yml: the alerts fire
// when they should, with the labels and text expected, and stay quiet before). promtool comes from
// Debian's `prometheus` package (scripts/test-deps.sh installs it). Mutated copies must fail.
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const DIR = join(import.meta.dirname, '../../deploy/prometheus');
const PROMTOOL = process.env.PROMTOOL_BIN ?? 'promtool';

async function promtool(...args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await exec(PROMTOOL, args, { timeout: 60_000 });
    return { ok: true, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: unknown };
    if (err.code === 'ENOENT') throw new Error('promtool not found: run scripts/test-deps.sh (apt-get install prometheus)', { cause: e });
    return { ok: false, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

let scratch: string;
/** A copy of alerts.yml (edited by `edit`) with alerts.test.yml beside it, in a scratch dir. */
async function mutated(edit: (rules: string) => string): Promise<{ rules: string; tests: string }> {
  const original = await readFile(join(DIR, 'alerts.yml'), 'utf8');
  const changed = edit(original);
  expect(changed).not.toBe(original);
  await writeFile(join(scratch, 'alerts.yml'), changed);
  await copyFile(join(DIR, 'alerts.test.yml'), join(scratch, 'alerts.test.yml'));
  return { rules: join(scratch, 'alerts.yml'), tests: join(scratch, 'alerts.test.yml') };
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'beacon-promtool-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('alerting rules under promtool', { timeout: 60_000 }, () => {
  it('check rules: every rule is valid', async () => {
    const r = await promtool('check', 'rules', join(DIR, 'alerts.yml'));
    expect(r.out).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.ok).toBe(true);
  });

  it('test rules: the unit tests pass, covering at least three alerts', async () => {
    const tests = await readFile(join(DIR, 'alerts.test.yml'), 'utf8');
    expect(new Set([...tests.matchAll(/alertname: (\w+)/g)].map((m) => m[1])).size).toBeGreaterThanOrEqual(3);
    const r = await promtool('test', 'rules', join(DIR, 'alerts.test.yml'));
    expect(r.out).toContain('SUCCESS');
    expect(r.ok).toBe(true);
  });

  it('a PromQL typo fails check rules', async () => {
    const { rules } = await mutated((s) => s.replace('expr: beacon_orchestrator_nodes == 0', 'expr: beacon_orchestrator_nodes == = 0'));
    const r = await promtool('check', 'rules', rules);
    expect(r.ok).toBe(false);
    expect(r.out).toContain('parse error');
  });

  it('a changed threshold or metric fails the unit tests', async () => {
    for (const edit of [
      (s: string) => s.replace('/ beacon_processor_max_sockets > 0.9', '/ beacon_processor_max_sockets > 0.95'),
      (s: string) => s.replace('expr: beacon_orchestrator_ready{check="redis"} == 0', 'expr: beacon_orchestrator_ready{check="rediss"} == 0'),
    ]) {
      const { tests } = await mutated(edit);
      const r = await promtool('test', 'rules', tests);
      expect(r.ok).toBe(false);
      expect(r.out).toContain('FAILED');
    }
  });
});
