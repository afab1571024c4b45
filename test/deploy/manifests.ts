// Checks of deploy/kubernetes/: every manifest against the Kubernetes schemas (kubernetes-models:
// types, enums, required fields; known-fields.ts: no unknown field names),
// then what the schemas cannot know — env vars are settings of the config table and the whole env
// loads as a valid config; ports agree (containerPort = the config port, Service targetPort,
// Ingress backend); each processor pod's PUBLIC_WS_URL has its Ingress path and Service; the grace
// period outlasts the drain; memory requests cover MAX_SOCKETS at the measured per-socket cost.
// Returns problems as text, so a test can assert none on the real files and some on a mutated copy.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as coreV1 from 'kubernetes-models/v1';
import { loadConfig, SETTINGS } from '../../src/config.js';
import { unknownFields } from './known-fields.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are untyped YAML */
type Doc = Record<string, any>;
export interface Manifest {
  file: string;
  doc: Doc;
  /** A kustomize patch (partial): schema-checked, its settings checked, not a resource of its own. */
  patch?: boolean;
}

const MODELS: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'autoscaling/v2': autoscalingV2,
  'policy/v1': policyV1,
  'networking.k8s.io/v1': networkingV1,
};
/** Measured RSS of an idle socket (load-tests connection mode: ~1.7 KB, rounded up) and the base RSS. */
export const BYTES_PER_SOCKET = 2048;
export const BASE_RSS_BYTES = 230 * 1024 * 1024;
/** The config settings that are listening ports, by the container port names the manifests use. */
const PORT_SETTINGS = ['PORT', 'PROCESSOR_PORT', 'METRICS_PORT'] as const;

/** Every YAML file under `dir`: path (relative) → text. */
export function readTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(name)) out.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

const isKustomization = (file: string) => /(^|\/)kustomization\.ya?ml$/.test(file);

/** Parses and schema-validates every manifest; kustomizations are checked for files they name. */
export function validateTree(files: Map<string, string>): { manifests: Manifest[]; problems: string[] } {
  const problems: string[] = [];
  const manifests: Manifest[] = [];
  const referenced = new Set<string>();
  const patches = new Set<string>();
  for (const [file, text] of files) {
    if (!isKustomization(file)) continue;
    const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/') + 1) : '';
    for (const d of parseAllDocuments(text)) for (const p of (d.toJS() as Doc | null)?.patches ?? []) patches.add(join(dir, p.path));
  }
  for (const [file, text] of files) {
    for (const d of parseAllDocuments(text)) {
      if (d.errors.length > 0) {
        problems.push(`${file}: YAML: ${d.errors[0].message}`);
        continue;
      }
      const doc = d.toJS() as Doc | null;
      if (!doc) continue;
      if (isKustomization(file)) {
        const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/') + 1) : '';
        for (const ref of [...(doc.resources ?? []), ...(doc.components ?? []), ...(doc.patches ?? []).map((p: Doc) => p.path)]) {
          const path = join(dir, ref);
          referenced.add(path);
          const exists = files.has(path) || [...files.keys()].some((f) => f.startsWith(`${path}/`));
          if (!exists) problems.push(`${file}: names ${ref}, which does not exist`);
        }
        continue;
      }
      const model = (MODELS[doc.apiVersion] ?? {})[doc.kind] as (new (d: Doc) => { validate(): void }) | undefined;
      if (!model) {
        problems.push(`${file}: unknown apiVersion/kind ${doc.apiVersion}/${doc.kind}`);
        continue;
      }
      try {
        new model(doc).validate();
      } catch (e) {
        problems.push(`${file}: ${doc.kind} ${doc.metadata?.name}: ${(e as Error).message}`);
      }
      // The validators let unknown keys through (Kubernetes would drop them silently).
      for (const path of unknownFields(doc)) problems.push(`${file}: ${doc.kind} ${doc.metadata?.name}: unknown field ${path}`);
      manifests.push({ file, doc, patch: patches.has(file) });
    }
  }
  // The example Secret is deliberately left out of kustomize (it would overwrite the real one).
  for (const file of files.keys()) {
    if (!isKustomization(file) && file !== 'secret.example.yaml' && !referenced.has(file)) problems.push(`${file}: in no kustomization`);
  }
  return { manifests, problems };
}

export interface Probe {
  workload: string;
  kind: 'liveness' | 'readiness';
  path: string;
  /** The config setting whose port the probe reaches (PORT, PROCESSOR_PORT, METRICS_PORT). */
  setting: string;
}

export interface BeaconContainer {
  workload: string;
  kind: string;
  replicas: number;
  /** The container's env as the pod sees it (ConfigMap, env; secrets by key name), $(NODE_ID) left as is. */
  env: Map<string, string>;
  secretKeys: Map<string, { name: string; key: string }>;
  container: Doc;
  podSpec: Doc;
  labels: Record<string, string>;
}

const beaconWorkloads = (ms: Manifest[]) => ms.filter((m) => ['Deployment', 'StatefulSet'].includes(m.doc.kind) && m.doc.metadata.name.startsWith('beacon-'));
const byKind = (ms: Manifest[], kind: string) => ms.filter((m) => m.doc.kind === kind).map((m) => m.doc);

export function beaconContainers(ms: Manifest[]): BeaconContainer[] {
  const configMaps = new Map(byKind(ms, 'ConfigMap').map((c) => [c.metadata.name as string, (c.data ?? {}) as Record<string, string>]));
  return beaconWorkloads(ms).flatMap(({ doc }) =>
    (doc.spec.template.spec.containers as Doc[]).map((c) => {
      const env = new Map<string, string>();
      const secretKeys = new Map<string, { name: string; key: string }>();
      for (const from of c.envFrom ?? []) for (const [k, v] of Object.entries(configMaps.get(from.configMapRef?.name) ?? {})) env.set(k, String(v));
      for (const e of c.env ?? []) {
        if (e.valueFrom?.secretKeyRef) secretKeys.set(e.name, e.valueFrom.secretKeyRef);
        env.set(e.name, e.value ?? (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name' ? '<pod name>' : `<${e.name}>`));
      }
      return {
        workload: doc.metadata.name,
        kind: doc.kind,
        replicas: doc.spec.replicas ?? 1,
        env,
        secretKeys,
        container: c,
        podSpec: doc.spec.template.spec,
        labels: doc.spec.template.metadata.labels,
      };
    }),
  );
}

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  !!selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Pods a selector picks: workload pod templates, and StatefulSet pods by their pod-name label. */
function podsFor(selector: Record<string, string>, ms: Manifest[]): { workload: Doc; ports: Doc[] }[] {
  const out: { workload: Doc; ports: Doc[] }[] = [];
  for (const m of ms.filter((x) => ['Deployment', 'StatefulSet'].includes(x.doc.kind))) {
    const w = m.doc;
    const ports = (w.spec.template.spec.containers as Doc[]).flatMap((c) => c.ports ?? []);
    const podName = selector['statefulset.kubernetes.io/pod-name'];
    if (podName !== undefined && w.kind === 'StatefulSet') {
      const i = podName.startsWith(`${w.metadata.name}-`) ? Number(podName.slice(w.metadata.name.length + 1)) : NaN;
      const rest = Object.fromEntries(Object.entries(selector).filter(([k]) => k !== 'statefulset.kubernetes.io/pod-name'));
      if (Number.isInteger(i) && i >= 0 && i < (w.spec.replicas ?? 1) && Object.entries(rest).every(([k, v]) => w.spec.template.metadata.labels[k] === v))
        out.push({ workload: w, ports });
    } else if (matches(selector, w.spec.template.metadata.labels)) out.push({ workload: w, ports });
  }
  return out;
}

const portOf = (ports: Doc[], ref: string | number) => ports.find((p) => p.containerPort === ref || p.name === ref);

/** Quantity → bytes (Ki, Mi, Gi, k, M, G), for memory. */
export function bytesOf(q: string | number): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(q));
  if (!m) return NaN;
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

/** The semantic checks. `probes` collects each probe with the setting of the port it reaches. */
export function checkManifests(all: Manifest[], secretExample?: Doc): { problems: string[]; probes: Probe[]; containers: BeaconContainer[] } {
  const problems: string[] = [];
  for (const p of all.filter((m) => m.patch && m.doc.kind === 'ConfigMap')) {
    for (const k of Object.keys(p.doc.data ?? {})) if (!(k in SETTINGS)) problems.push(`${p.file}: ${k} is not a setting of src/config.ts`);
  }
  const ms = all.filter((m) => !m.patch);
  const probes: Probe[] = [];
  const containers = beaconContainers(ms);
  if (containers.length === 0) problems.push('no Beacon workload found');
  for (const bc of containers) {
    const where = `${bc.workload}/${bc.container.name}`;
    for (const name of bc.env.keys()) if (!(name in SETTINGS)) problems.push(`${where}: env ${name} is not a setting of src/config.ts`);
    for (const secret of ['JWT_SECRET', 'TICKET_SECRET', 'REPLICATION_KEY']) {
      const ref = bc.secretKeys.get(secret);
      if (!ref) problems.push(`${where}: ${secret} must come from a Secret (secretKeyRef)`);
      else if (secretExample && (ref.name !== secretExample.metadata.name || !(ref.key in (secretExample.stringData ?? {}))))
        problems.push(`${where}: ${secret} refers to ${ref.name}/${ref.key}, not in secret.example.yaml`);
    }
    // Ports: each containerPort is a listening setting's value, and each setting set has its port.
    const ports = (bc.container.ports ?? []) as Doc[];
    const settingOfPort = new Map<string, string>();
    for (const p of ports) {
      const setting = PORT_SETTINGS.find((s) => bc.env.get(s) === String(p.containerPort));
      if (!setting)
        problems.push(
          `${where}: containerPort ${p.containerPort} (${p.name}) is none of ${PORT_SETTINGS.filter((s) => bc.env.has(s))
            .map((s) => `${s}=${bc.env.get(s)}`)
            .join(', ')}`,
        );
      else settingOfPort.set(p.name ?? String(p.containerPort), setting);
    }
    for (const s of PORT_SETTINGS)
      if (bc.env.has(s) && !ports.some((p) => String(p.containerPort) === bc.env.get(s))) problems.push(`${where}: ${s}=${bc.env.get(s)} has no containerPort`);
    for (const kind of ['liveness', 'readiness'] as const) {
      const probe = bc.container[`${kind}Probe`];
      if (!probe?.httpGet) {
        problems.push(`${where}: no HTTP ${kind} probe`);
        continue;
      }
      const port = portOf(ports, probe.httpGet.port);
      const setting = port && settingOfPort.get(port.name ?? String(port.containerPort));
      if (!setting) problems.push(`${where}: ${kind} probe port ${probe.httpGet.port} is no container port`);
      else probes.push({ workload: bc.workload, kind, path: probe.httpGet.path, setting });
    }
    // Drain: the pod must outlive preStop + DRAIN_TIMEOUT_MS, or SIGKILL cuts the drain short.
    const drainMs = Number(bc.env.get('DRAIN_TIMEOUT_MS') ?? SETTINGS.DRAIN_TIMEOUT_MS.default);
    const cmd = bc.container.lifecycle?.preStop?.exec?.command as string[] | undefined;
    const preStopMs = cmd && cmd[0] === 'sleep' ? Number(cmd[1]) * 1000 : NaN;
    if (!(preStopMs > 0)) problems.push(`${where}: no preStop sleep (endpoints must drop the pod before SIGTERM)`);
    const graceMs = (bc.podSpec.terminationGracePeriodSeconds ?? 30) * 1000;
    if (!(graceMs > preStopMs + drainMs))
      problems.push(`${where}: terminationGracePeriodSeconds ${graceMs / 1000} s ≤ preStop ${preStopMs / 1000} s + DRAIN_TIMEOUT_MS ${drainMs} ms`);
    // Memory: requests and limits set; a processor's request covers MAX_SOCKETS idle sockets.
    const res = bc.container.resources ?? {};
    for (const k of ['requests', 'limits']) if (!res[k]?.memory || !res[k]?.cpu) problems.push(`${where}: resources.${k} needs cpu and memory`);
    if (bc.env.has('PROCESSOR_PORT')) {
      const maxSockets = Number(bc.env.get('MAX_SOCKETS') ?? SETTINGS.MAX_SOCKETS.default);
      const need = BASE_RSS_BYTES + maxSockets * BYTES_PER_SOCKET;
      if (!(bytesOf(res.requests?.memory) >= need))
        problems.push(`${where}: memory request ${res.requests?.memory} < ${Math.ceil(need / 2 ** 20)}Mi (base + MAX_SOCKETS × ${BYTES_PER_SOCKET} B)`);
      if (!(bytesOf(res.limits?.memory) >= bytesOf(res.requests?.memory))) problems.push(`${where}: memory limit below the request`);
    }
    // The env as a whole is a valid configuration (secrets and the pod name stood in for).
    const env = Object.fromEntries([...bc.env].map(([k, v]) => [k, v.replaceAll('$(NODE_ID)', `${bc.workload}-0`)]));
    env.NODE_ID &&= `${bc.workload}-0`;
    for (const [i, s] of ['JWT_SECRET', 'TICKET_SECRET', 'REPLICATION_KEY'].entries()) env[s] = String(i).repeat(64);
    try {
      loadConfig(env);
    } catch (e) {
      problems.push(`${where}: the env does not load: ${(e as Error).message}`);
    }
  }

  // Services select pods and target their ports; Ingress backends name Services and their ports.
  const services = byKind(ms, 'Service');
  for (const svc of services) {
    const pods = podsFor(svc.spec.selector ?? {}, ms);
    if (pods.length === 0) problems.push(`Service ${svc.metadata.name}: selects no pod`);
    for (const p of svc.spec.ports ?? []) {
      for (const pod of pods)
        if (!portOf(pod.ports, p.targetPort ?? p.port))
          problems.push(`Service ${svc.metadata.name}: targetPort ${p.targetPort} is no port of ${pod.workload.metadata.name}`);
    }
  }
  const ingressPaths = new Map<string, { host: string; service: string }>();
  for (const ing of byKind(ms, 'Ingress')) {
    for (const rule of ing.spec.rules ?? []) {
      for (const path of rule.http?.paths ?? []) {
        const be = path.backend.service;
        const svc = services.find((s) => s.metadata.name === be.name);
        if (!svc) problems.push(`Ingress ${ing.metadata.name}: ${path.path} → Service ${be.name}, which does not exist`);
        else if (!(svc.spec.ports ?? []).some((p: Doc) => (be.port.name !== undefined ? p.name === be.port.name : p.port === be.port.number))) {
          problems.push(`Ingress ${ing.metadata.name}: ${path.path} → ${be.name} port ${be.port.name ?? be.port.number}, not a port of that Service`);
        }
        ingressPaths.set(path.path, { host: rule.host, service: be.name });
      }
    }
  }
  // Each processor pod: PUBLIC_WS_URL's host and path reach that pod's own Service.
  for (const bc of containers.filter((c) => c.env.has('PROCESSOR_PORT'))) {
    const url = bc.env.get('PUBLIC_WS_URL');
    if (!url || bc.kind !== 'StatefulSet') {
      problems.push(`${bc.workload}: processors run as a StatefulSet with PUBLIC_WS_URL`);
      continue;
    }
    for (let i = 0; i < bc.replicas; i++) {
      const pod = `${bc.workload}-${i}`;
      const u = new URL(url.replaceAll('$(NODE_ID)', pod));
      const route = ingressPaths.get(u.pathname);
      if (!route) problems.push(`${pod}: no Ingress path ${u.pathname} (its PUBLIC_WS_URL)`);
      else {
        if (route.host !== u.hostname) problems.push(`${pod}: PUBLIC_WS_URL host ${u.hostname} ≠ Ingress host ${route.host}`);
        const svc = services.find((s) => s.metadata.name === route.service);
        const pods = svc ? podsFor(svc.spec.selector ?? {}, ms) : [];
        if (svc?.spec.selector?.['statefulset.kubernetes.io/pod-name'] !== pod || pods.length !== 1)
          problems.push(`${pod}: Ingress path ${u.pathname} → ${route.service}, which does not select exactly that pod`);
      }
    }
  }
  // HPA and PDBs name real workloads.
  for (const hpa of byKind(ms, 'HorizontalPodAutoscaler')) {
    const t = hpa.spec.scaleTargetRef;
    if (!ms.some((m) => m.doc.kind === t.kind && m.doc.metadata.name === t.name))
      problems.push(`HPA ${hpa.metadata.name}: target ${t.kind}/${t.name} does not exist`);
    const target = ms.find((m) => m.doc.kind === t.kind && m.doc.metadata.name === t.name)?.doc;
    if (target && !(target.spec.template.spec.containers as Doc[]).every((c) => c.resources?.requests?.cpu))
      problems.push(`HPA ${hpa.metadata.name}: CPU utilization needs CPU requests`);
  }
  for (const pdb of byKind(ms, 'PodDisruptionBudget')) {
    if (podsFor(pdb.spec.selector?.matchLabels ?? {}, ms).length === 0) problems.push(`PDB ${pdb.metadata.name}: selects no pod`);
  }
  return { problems, probes, containers };
}
