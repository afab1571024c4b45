// The tools' command-line options: node:util parseArgs, strict, with bounded integers.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { intOption } from '../../load-tests/options.js';

describe('tool options', () => {
  it('intOption takes integers in range and names the option otherwise', () => {
    expect(intOption('n', undefined, 7, 1, 10)).toBe(7);
    expect(intOption('n', '10', 7, 1, 10)).toBe(10);
    for (const bad of ['', ' ', '0', '11', '1.5', 'NaN', '1e3', 'Infinity', '-1', 'x']) {
      expect(() => intOption('n', bad, 7, 1, 10), bad).toThrow(/--n needs an integer in \[1, 10\]/);
    }
  });

  it('a tool refuses an unknown option or a bad value with exit 2 and its usage, and --help exits 0', () => {
    const run = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'load-tests/shard-balance.ts', ...args], { encoding: 'utf8', timeout: 60_000 });
    const unknown = run('--frobnicate', '1');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("'--frobnicate'");
    expect(unknown.stderr).toContain('usage: tsx load-tests/shard-balance.ts');
    const bad = run('--devices', 'lots');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--devices needs an integer');
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: tsx load-tests/shard-balance.ts');
  });
});
