// deploy/kubernetes/: every manifest validated against the Kubernetes schemas (kubernetes-models)
// and checked against Beacon itself (manifests.ts): env vars from the config table, ports that
// agree, per-pod routing, drain and memory arithmetic. The probes are requested from the real
// servers started with the manifests' own env (ports and Redis swapped for the test's), and a
// device opens its socket through PUBLIC_WS_URL's per-pod path. Mutated copies must be refused.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { connectDevice, spawnNode, type NodeProcess } from '../distributed/nodes.js';
import { checkManifests, readTree, validateTree, type Probe } from './manifests.js';
import { waitFor } from '../helpers/wait.js';

const DIR = join(import.meta.dirname, '../../deploy/kubernetes');
const SECRETS = new Set(['JWT_SECRET', 'TICKET_SECRET', 'REPLICATION_KEY']);

function check(files: Map<string, string>) {
  const { manifests, problems } = validateTree(files);
  const secret = manifests.find((m) => m.file === 'secret.example.yaml')?.doc;
  const semantic = checkManifests(manifests, secret);
  return { problems: [...problems, ...semantic.problems], probes: semantic.probes, containers: semantic.containers };
}

let redis: RedisServer;
const nodes: NodeProcess[] = [];
/** Base URL of each listening setting on the real servers. */
const bases = new Map<string, string>();
let publicPath = '';

/** Status of a probe's path on the real server that listens on the probe's port. */
async function probeStatus(p: Probe): Promise<number> {
  return (await fetch(`${bases.get(p.setting)}${p.path}`)).status;
}

beforeAll(async () => {
  const { containers, problems } = check(readTree(DIR));
  expect(problems).toEqual([]);
  redis = await startRedis();
  const envOf = (workload: string, ports: Record<string, number>): Record<string, string> => {
    const c = containers.find((x) => x.workload === workload)!;
    const env = Object.fromEntries([...c.env].filter(([k]) => !SECRETS.has(k)));
    return { ...env, HOST: '127.0.0.1', REDIS_URL: redis.url, LOG_LEVEL: 'warn', ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])) };
  };
  const [port, procPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const procEnv = envOf('beacon-processor', { PROCESSOR_PORT: procPort, METRICS_PORT: metricsPort });
  // The manifest's public URL, with the pod's name, on this machine's loopback.
  publicPath = new URL(procEnv.PUBLIC_WS_URL.replaceAll('$(NODE_ID)', 'beacon-processor-0')).pathname;
  const proc = await spawnNode('processor', { ...procEnv, NODE_ID: 'beacon-processor-0', PUBLIC_WS_URL: `ws://127.0.0.1:${procPort}${publicPath}` }, 60_000);
  nodes.push(proc);
  const orch = await spawnNode('orchestrator', envOf('beacon-orchestrator', { PORT: port }), 60_000);
  nodes.push(orch);
  bases.set('PORT', `http://127.0.0.1:${port}`).set('PROCESSOR_PORT', `http://127.0.0.1:${procPort}`).set('METRICS_PORT', `http://127.0.0.1:${metricsPort}`);
}, 180_000);

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.kill9()));
  await redis?.dispose();
});

describe('Kubernetes manifests', { timeout: 60_000 }, () => {
  it('validate against the schemas and agree with the config table, ports, routing, drain and memory', () => {
    const { problems, probes, containers } = check(readTree(DIR));
    expect(problems).toEqual([]);
    expect(containers.map((c) => `${c.kind}/${c.workload}`).sort()).toEqual(['Deployment/beacon-orchestrator', 'StatefulSet/beacon-processor']);
    expect(probes.map((p) => `${p.workload} ${p.kind} ${p.setting} ${p.path}`).sort()).toEqual([
      'beacon-orchestrator liveness PORT /healthz',
      'beacon-orchestrator readiness PORT /readyz',
      'beacon-processor liveness METRICS_PORT /healthz',
      'beacon-processor readiness PROCESSOR_PORT /healthz',
    ]);
  });

  it("every probe answers 200 on the real servers started with the manifests' env", async () => {
    const { probes } = check(readTree(DIR));
    for (const p of probes) {
      await waitFor(async () => (await probeStatus(p)) === 200, 20_000, `${p.workload} ${p.kind} ${p.path} 200`);
    }
  });

  it('a device reaches the processor through its per-pod public path', async () => {
    const d = await connectDevice(bases.get('PORT')!, 'citizen', 'cit-k8s', { lat: 40.7484, lng: -73.9857 });
    expect(new URL(d.assignment.url).pathname).toBe('/ws/beacon-processor-0');
    expect(publicPath).toBe('/ws/beacon-processor-0');
    expect(d.assignment.node).toBe('beacon-processor-0');
    d.client.close();
  });

  describe('a typo in a copy of a manifest is caught', () => {
    const mutations: [string, string, string, string, RegExp][] = [
      [
        'schema: a misspelt required field',
        'orchestrator.yaml',
        'containerPort: 8080',
        'containerPrt: 8080',
        /ports\/0 must have required property containerPort/,
      ],
      ['schema: a string where a number goes', 'processor.yaml', 'replicas: 3', 'replicas: three', /replicas must be integer/],
      [
        'schema: a misspelt optional field (Kubernetes would drop it silently)',
        'processor.yaml',
        'terminationGracePeriodSeconds: 35',
        'terminationGracePeriodSecond: 35',
        /unknown field spec\.template\.spec\.terminationGracePeriodSecond/,
      ],
      [
        'schema: a misspelt probe',
        'orchestrator.yaml',
        'readinessProbe:',
        'readinesProbe:',
        /unknown field spec\.template\.spec\.containers\[0\]\.readinesProbe/,
      ],
      ['an env var the config table does not know', 'processor.yaml', 'name: MAX_SOCKETS', 'name: MAX_SOCKET', /env MAX_SOCKET is not a setting/],
      ['a ConfigMap key the config table does not know', 'configmap.yaml', 'LOG_LEVEL: info', 'LOGLEVEL: info', /env LOGLEVEL is not a setting/],
      ['an env value the config refuses', 'configmap.yaml', 'REDIS_URL: redis://', 'REDIS_URL: http://', /REDIS_URL.*must use redis: or rediss:/],
      [
        'containerPort ≠ the config port',
        'orchestrator.yaml',
        'containerPort: 8080',
        'containerPort: 8000',
        /containerPort 8000 \(http\) is none of PORT=8080/,
      ],
      [
        'a Service targetPort no container has',
        'processor-services.yaml',
        'targetPort: ws',
        'targetPort: wss',
        /targetPort wss is no port of beacon-processor/,
      ],
      [
        'an Ingress backend port the Service lacks',
        'ingress.yaml',
        'name: http\n',
        'name: https\n',
        /→ beacon-orchestrator port https, not a port of that Service/,
      ],
      [
        'an Ingress path that is no PUBLIC_WS_URL',
        'ingress.yaml',
        'path: /ws/beacon-processor-1',
        'path: /ws/beacon-processor-l',
        /beacon-processor-1: no Ingress path \/ws\/beacon-processor-1/,
      ],
      [
        'a per-pod Service selecting another pod',
        'processor-services.yaml',
        'pod-name: beacon-processor-2',
        'pod-name: beacon-processor-1',
        /beacon-processor-2: Ingress path .* does not select exactly that pod/,
      ],
      [
        'a grace period shorter than the drain',
        'processor.yaml',
        'terminationGracePeriodSeconds: 35',
        'terminationGracePeriodSeconds: 20',
        /terminationGracePeriodSeconds 20 s ≤ preStop 5 s \+ DRAIN_TIMEOUT_MS 20000/,
      ],
      ['a memory request below MAX_SOCKETS × 2 KB', 'processor.yaml', 'memory: 512Mi', 'memory: 256Mi', /memory request 256Mi < 426Mi/],
      [
        'a secret set in plain text',
        'orchestrator.yaml',
        'name: TICKET_SECRET\n              valueFrom:\n                secretKeyRef:\n                  name: beacon-secrets\n                  key: TICKET_SECRET',
        'name: TICKET_SECRET\n              value: hunter2hunter2hunter2',
        /TICKET_SECRET must come from a Secret/,
      ],
      [
        'a kustomization naming a missing file',
        'kustomization.yaml',
        '- processor-pdb.yaml',
        '- processor-pdbs.yaml',
        /names processor-pdbs.yaml, which does not exist/,
      ],
    ];
    for (const [what, file, from, to, expected] of mutations) {
      it(what, () => {
        const files = readTree(DIR);
        const text = files.get(file)!;
        expect(text, `${file} holds ${JSON.stringify(from)}`).toContain(from);
        files.set(file, text.replace(from, to));
        expect(check(files).problems.join('\n')).toMatch(expected);
      });
    }

    it('a probe path no server serves', async () => {
      const files = readTree(DIR);
      files.set('orchestrator.yaml', files.get('orchestrator.yaml')!.replace('path: /readyz', 'path: /ready'));
      const { problems, probes } = check(files);
      expect(problems).toEqual([]); // only the real server can tell
      const bad = probes.find((p) => p.path === '/ready')!;
      expect(await probeStatus(bad)).toBe(404);
    });
  });
});
