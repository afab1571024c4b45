// The Dockerfile, .dockerignore and docker-compose.yml, checked without a Docker engine: stages
// copy files that exist (or that an earlier stage produced), the runtime is non-root with a
// HEALTHCHECK and no dev dependencies, and the compose services run real `beacon` subcommands
// with real settings.
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { COMMANDS } from '../../src/cli/commands.js';
import { SETTINGS } from '../../src/config.js';
import { parseDockerfile, type Stage } from './dockerfile.js';

const root = join(import.meta.dirname, '../..');
const read = (f: string) => readFileSync(join(root, f), 'utf8');
const stages = parseDockerfile(read('Dockerfile'));
const runtime = stages[stages.length - 1];
const buildConfig = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { outDir: string } };
const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; bin: Record<string, string>; dependencies: Record<string, string> };

function workdir(stage: Stage, upTo: number): string {
  let wd = '/';
  for (const ins of stage.instructions.slice(0, upTo)) if (ins.op === 'WORKDIR') wd = posix.resolve(wd, ins.words[0]);
  return wd;
}

/** Absolute paths a stage has: what it copied in and what its RUN steps produce. */
function producedBy(stage: Stage): string[] {
  const out: string[] = [];
  stage.instructions.forEach((ins, i) => {
    const wd = workdir(stage, i);
    if (ins.op === 'COPY') {
      const dest = posix.resolve(wd, ins.words[ins.words.length - 1]);
      for (const src of ins.words.slice(0, -1)) out.push(ins.words.length > 2 || dest.endsWith('/') ? posix.join(dest, posix.basename(src)) : dest);
    }
    if (ins.op === 'RUN') {
      if (/\bnpm ci\b/.test(ins.args)) out.push(posix.join(wd, 'node_modules'));
      if (/\bnpm run compile\b/.test(ins.args)) out.push(posix.join(wd, buildConfig.compilerOptions.outDir));
    }
  });
  return out;
}

describe('Dockerfile', () => {
  it('is multi-stage on node:20-bookworm-slim, and every --from names an earlier stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(runtime.base).toBe('node:20-bookworm-slim');
    stages.forEach((stage, i) => {
      for (const ins of stage.instructions) {
        if (!ins.flags.from) continue;
        const earlier = stages.slice(0, i).map((s) => s.name);
        expect(earlier, `${ins.op} --from=${ins.flags.from}`).toContain(ins.flags.from);
      }
    });
  });

  it('copies from the build context only files that exist and that .dockerignore lets through', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    let copies = 0;
    for (const stage of stages) {
      for (const ins of stage.instructions) {
        if ((ins.op !== 'COPY' && ins.op !== 'ADD') || ins.flags.from) continue;
        for (const src of ins.words.slice(0, -1)) {
          copies++;
          expect(existsSync(join(root, src)), `COPY ${src}`).toBe(true);
          expect(ignored, `COPY ${src} is excluded by .dockerignore`).not.toContain(src.split('/')[0]);
        }
      }
    }
    expect(copies).toBeGreaterThan(3);
  });

  it('copies from other stages only what those stages copied in or built', () => {
    let fromCopies = 0;
    for (const stage of stages) {
      for (const ins of stage.instructions) {
        if (!ins.flags.from) continue;
        const source = stages.find((s) => s.name === ins.flags.from) as Stage;
        const have = producedBy(source);
        for (const src of ins.words.slice(0, -1)) {
          fromCopies++;
          const abs = posix.resolve(workdir(source, source.instructions.length), src);
          expect(
            have.some((p) => abs === p || abs.startsWith(`${p}/`)),
            `COPY --from=${ins.flags.from} ${src} (stage has ${have.join(', ')})`,
          ).toBe(true);
        }
      }
    }
    expect(fromCopies).toBeGreaterThanOrEqual(2);
  });

  it('builds with `npm run compile`, whose output holds the compiled cli the bin runs', () => {
    expect(pkg.scripts.compile).toContain('tsconfig.build.json');
    expect(pkg.bin.beacon).toBe('bin/beacon.js');
    expect(read('bin/beacon.js')).toContain(`'${buildConfig.compilerOptions.outDir}', 'cli.js'`);
  });

  it('runtime: production dependencies only, compiled code, non-root, HEALTHCHECK, beacon entrypoint', () => {
    const ops = (op: string) => runtime.instructions.filter((i) => i.op === op);
    // node_modules come from a stage that installed with --omit=dev (tsx is a devDependency).
    const nm = ops('COPY').find((i) => i.words[0].endsWith('node_modules'));
    expect(nm?.flags.from).toBeDefined();
    const depsStage = stages.find((s) => s.name === nm?.flags.from) as Stage;
    expect(depsStage.instructions.some((i) => i.op === 'RUN' && /npm ci\b.*--omit=dev/.test(i.args))).toBe(true);
    expect(ops('COPY').some((i) => i.words[0] === 'src' || i.words[0].startsWith('src/'))).toBe(false);
    expect(pkg.dependencies.tsx).toBeUndefined();

    const users = ops('USER');
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0', '0:0']).not.toContain(users[users.length - 1].words[0]);

    const hc = ops('HEALTHCHECK');
    expect(hc).toHaveLength(1);
    const hcCmd = hc[0].args.replace(/^CMD\s+/, '');
    expect(JSON.parse(hcCmd)).toEqual(['node', 'bin/beacon.js', 'healthcheck']);

    expect(ops('ENTRYPOINT')[0].words).toEqual(['node', 'bin/beacon.js']);
    const cmd = ops('CMD')[0].words;
    expect(COMMANDS).toContain(cmd[0]);
    const env = ops('ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toMatch(/HOST=0\.0\.0\.0/);
    expect(env).toMatch(/DATA_DIR=\S+/);
    expect(ops('VOLUME').length).toBe(1);
  });
});

describe('docker-compose.yml', () => {
  type Service = { image?: string; build?: unknown; command?: string[] | string; environment?: Record<string, string | number>; ports?: string[] };
  // Compose files use YAML 1.1 merge keys (`<<: *anchor`).
  const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
  const services = Object.entries(compose.services);
  const beacon = services.filter(([, s]) => s.build !== undefined || s.image?.startsWith('beacon'));
  const commandOf = (s: Service) => (Array.isArray(s.command) ? s.command : String(s.command ?? '').split(/\s+/))[0];

  it('has Redis 7 with AOF on, one orchestrator and two processors', () => {
    const redis = services.find(([, s]) => s.image?.startsWith('redis:7'));
    expect(redis).toBeDefined();
    const cmd = (redis?.[1].command as string[]).join(' ');
    expect(cmd).toContain('--appendonly yes');
    expect(cmd).toContain('--appendfsync everysec');
    expect(beacon.filter(([, s]) => commandOf(s) === 'orchestrator')).toHaveLength(1);
    expect(beacon.filter(([, s]) => commandOf(s) === 'processor')).toHaveLength(2);
  });

  it('runs only real beacon subcommands with real settings', () => {
    for (const [name, s] of beacon) {
      expect(COMMANDS, `${name}.command`).toContain(commandOf(s));
      for (const key of Object.keys(s.environment ?? {})) expect(Object.keys(SETTINGS), `${name}.environment.${key}`).toContain(key);
      expect(s.environment?.REDIS_URL, name).toMatch(/^redis:\/\//);
      expect(String(s.environment?.TICKET_SECRET), name).toContain('TICKET_SECRET');
      expect(String(s.environment?.REPLICATION_KEY), name).toContain('REPLICATION_KEY');
      expect(String(s.environment?.JWT_SECRET), name).toContain('JWT_SECRET');
    }
  });

  it('gives each processor its own NODE_ID and a PUBLIC_WS_URL on the host port that reaches it', () => {
    const procs = beacon.filter(([, s]) => commandOf(s) === 'processor').map(([, s]) => s);
    expect(new Set(procs.map((p) => p.environment?.NODE_ID)).size).toBe(2);
    for (const p of procs) {
      const url = String(p.environment?.PUBLIC_WS_URL);
      const hostPort = /:(\d+)\/ws$/.exec(url)?.[1];
      const mapping = (p.ports ?? []).map((m) => m.split(':'));
      expect(
        mapping.some(([h, c]) => h === hostPort && c === String(p.environment?.PROCESSOR_PORT)),
        url,
      ).toBe(true);
    }
    // Metrics on a port of their own, reachable inside the compose network only (not published).
    for (const p of procs) {
      expect(p.environment?.METRICS_PORT).toBeDefined();
      expect((p.ports ?? []).some((m) => m.split(':').at(-1) === String(p.environment?.METRICS_PORT))).toBe(false);
    }
    const orch = beacon.find(([, s]) => commandOf(s) === 'orchestrator')?.[1];
    expect(orch?.ports?.some((m) => m.endsWith(`:${orch.environment?.PORT ?? 8080}`))).toBe(true);
  });
});
