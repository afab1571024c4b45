// Unknown field names in a manifest. kubernetes-models' validators check types, enums and required
// fields but let unknown keys through, and Kubernetes drops them silently: a misspelt optional field
// (`readinesProbe`, `terminationGracePeriodSecond`) would just be lost. The field names come from
// the same package's type declarations (its `I<Kind>` interfaces), read with the TypeScript checker.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ts from 'typescript';

const require = createRequire(import.meta.url);
/** apiVersion → folder inside kubernetes-models. */
const MODULES: Record<string, string> = {
  v1: 'v1',
  'apps/v1': 'apps/v1',
  'autoscaling/v2': 'autoscaling/v2',
  'policy/v1': 'policy/v1',
  'networking.k8s.io/v1': 'networking.k8s.io/v1',
};
const ROOT = dirname(dirname(require.resolve('kubernetes-models/v1')));
const declarations = (k: { apiVersion: string; kind: string }) => join(ROOT, MODULES[k.apiVersion], `${k.kind}.d.ts`);

/** The kinds deploy/kubernetes/ uses (validateTree refuses any other). */
const KINDS = [
  ['v1', 'Namespace'],
  ['v1', 'ConfigMap'],
  ['v1', 'Secret'],
  ['v1', 'Service'],
  ['apps/v1', 'Deployment'],
  ['apps/v1', 'StatefulSet'],
  ['autoscaling/v2', 'HorizontalPodAutoscaler'],
  ['policy/v1', 'PodDisruptionBudget'],
  ['networking.k8s.io/v1', 'Ingress'],
].map(([apiVersion, kind]) => ({ apiVersion, kind }));

let cached: { checker: ts.TypeChecker; types: Map<string, ts.Type> } | undefined;

/** One program over the declarations of every kind, built once (seconds). */
function load() {
  if (cached) return cached;
  const program = ts.createProgram(KINDS.map(declarations), { strict: true, noEmit: true, skipLibCheck: true, types: [] });
  const checker = program.getTypeChecker();
  const types = new Map<string, ts.Type>();
  for (const k of KINDS) {
    const sf = program.getSourceFile(declarations(k));
    const decl = sf?.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === `I${k.kind}`);
    if (decl) types.set(`${k.apiVersion}/${k.kind}`, checker.getTypeAtLocation(decl));
  }
  cached = { checker, types };
  return cached;
}

/** Paths of keys in `doc` that its kind's declarations do not have, e.g. `spec.template.spec.containers[0].readinesProbe`. */
export function unknownFields(doc: Record<string, unknown>): string[] {
  const { checker, types } = load();
  const root = types.get(`${String(doc.apiVersion)}/${String(doc.kind)}`);
  if (!root) return [`(no declarations for ${String(doc.apiVersion)}/${String(doc.kind)})`];
  const out: string[] = [];
  const walk = (value: unknown, type: ts.Type, path: string): void => {
    const t = checker.getNonNullableType(type);
    if (Array.isArray(value)) {
      const element = checker.isArrayType(t) ? checker.getTypeArguments(t as ts.TypeReference)[0] : undefined;
      if (element) value.forEach((v, i) => walk(v, element, `${path}[${i}]`));
      return;
    }
    if (value === null || typeof value !== 'object') return;
    // Maps (labels, annotations, data, resource quantities) have an index signature: any key goes.
    if (t.getStringIndexType()) return;
    const members = t.isUnion() ? t.types : [t];
    for (const [k, v] of Object.entries(value)) {
      const prop = members.map((m) => m.getProperty(k)).find((p) => p !== undefined);
      if (!prop) {
        out.push(`${path}${path ? '.' : ''}${k}`);
        continue;
      }
      walk(v, checker.getTypeOfSymbol(prop), `${path}${path ? '.' : ''}${k}`);
    }
  };
  walk(doc, root, '');
  return out;
}
