/**
 * The Kubernetes manifests, checked without a cluster: every object against the Kubernetes schemas
 * (`kubernetes-models`, Kubernetes 1.27 OpenAPI: types, required fields, enums), then what the schemas cannot
 * see: selectors that match their pods, probes and resource requests on every container, named ports that
 * exist, `$(VAR)` references in args that some env source defines, and ConfigMaps/Secrets that exist.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { IContainer, IPodTemplateSpec } from 'kubernetes-models/v1';

const DIR = fileURLToPath(new URL('.', import.meta.url));
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, any>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  file: string;
}

function load(): Obj[] {
  const out: Obj[] = [];
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')) {
    for (const doc of parseAllDocuments(readFileSync(join(DIR, file), 'utf8'))) {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const value = doc.toJS() as Obj | null;
      if (value) out.push({ ...value, file });
    }
  }
  return out;
}

const objects = load();
const of = (kind: string): Obj[] => objects.filter((o) => o.kind === kind);
const one = (kind: string, name: string): Obj => {
  const hit = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!hit) throw new Error(`no ${kind} ${name}`);
  return hit;
};
const workloads = (): Obj[] => [...of('Deployment'), ...of('StatefulSet')];
const podSpec = (w: Obj): NonNullable<IPodTemplateSpec['spec']> => (w.spec!.template as IPodTemplateSpec).spec!;
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('deploy/k8s', () => {
  it('every object validates against the Kubernetes schema of its kind', () => {
    expect(objects.length).toBeGreaterThanOrEqual(9);
    for (const o of objects) {
      const Model = MODELS[`${o.apiVersion}/${o.kind}`];
      if (!Model) throw new Error(`${o.file}: no schema for ${o.apiVersion} ${o.kind}`);
      const { file: _file, ...data } = o;
      expect(() => new Model(data as never).validate(), `${o.file}: ${o.kind} ${o.metadata.name}`).not.toThrow();
    }
  });

  it('the schema check can fail: a wrong type and a missing required field are refused', () => {
    const ctl = one('Deployment', 'fedweb-controller');
    const { file: _file, ...data } = structuredClone(ctl);
    expect(() => new Deployment({ ...data, spec: { ...data.spec, replicas: 'two' } } as never).validate()).toThrow(/replicas must be integer/);
    const { selector: _s, ...noSelector } = data.spec!;
    expect(() => new Deployment({ ...data, spec: noSelector } as never).validate()).toThrow(/selector/);
  });

  it('has what the deployment needs: a standby controller, combiners with stable ids, services, settings, a signing key, PDBs', () => {
    expect(one('Deployment', 'fedweb-controller').spec!.replicas).toBe(2);
    const combiners = one('StatefulSet', 'fedweb-combiner');
    expect(combiners.spec!.replicas).toBeGreaterThanOrEqual(2);
    expect(one('Service', combiners.spec!.serviceName as string).spec!.clusterIP).toBe('None');
    expect(one('Service', 'fedweb-controller').spec!.ports[0].port).toBe(8080);
    expect(Object.keys(one('ConfigMap', 'fedweb-config').data ?? {})).toContain('FEDWEB_BLOBS');
    expect(Object.keys(one('Secret', 'fedweb-secrets').stringData ?? {})).toEqual(expect.arrayContaining(['FEDWEB_SECRET', 'FEDWEB_STATE']));
    expect(of('PodDisruptionBudget')).toHaveLength(2);
    for (const o of objects.filter((x) => x.kind !== 'Namespace')) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe('fedweb');
  });

  it('selectors match their pods: workloads, Services and PodDisruptionBudgets', () => {
    for (const w of workloads()) expect(matches(w.spec!.selector.matchLabels, w.spec!.template.metadata.labels), `${w.kind} ${w.metadata.name}`).toBe(true);
    for (const s of [...of('Service'), ...of('PodDisruptionBudget')]) {
      const selector = (s.kind === 'Service' ? s.spec!.selector : s.spec!.selector.matchLabels) as Record<string, string>;
      const selected = workloads().filter((w) => matches(selector, w.spec!.template.metadata.labels));
      expect(selected.map((w) => w.metadata.name), `${s.kind} ${s.metadata.name} selects one workload`).toHaveLength(1);
    }
  });

  it('every container: non-root, readiness and liveness probes, resource requests, ports that Services and probes name', () => {
    for (const w of workloads()) {
      const spec = podSpec(w);
      expect(spec.securityContext?.runAsNonRoot).toBe(true);
      for (const c of spec.containers as IContainer[]) {
        const where = `${w.metadata.name}/${c.name}`;
        expect(c.readinessProbe, where).toBeDefined();
        expect(c.livenessProbe, where).toBeDefined();
        expect(c.resources?.requests?.cpu, where).toBeDefined();
        expect(c.resources?.requests?.memory, where).toBeDefined();
        expect(c.securityContext?.allowPrivilegeEscalation, where).toBe(false);
        const ports = (c.ports ?? []).map((p) => p.name);
        for (const probe of [c.readinessProbe, c.livenessProbe]) {
          const port = probe?.httpGet?.port;
          if (typeof port === 'string') expect(ports, where).toContain(port);
        }
      }
      for (const s of of('Service').filter((x) => matches(x.spec!.selector, w.spec!.template.metadata.labels))) {
        for (const p of s.spec!.ports as Array<{ targetPort: string | number }>) {
          if (typeof p.targetPort === 'string') expect((spec.containers as IContainer[]).flatMap((c) => (c.ports ?? []).map((x) => x.name))).toContain(p.targetPort);
        }
      }
    }
  });

  it('every $(VAR) in args and env values is defined, and every ConfigMap/Secret referenced exists with that key', () => {
    for (const w of workloads()) {
      for (const c of podSpec(w).containers as IContainer[]) {
        const defined = new Set<string>();
        for (const src of c.envFrom ?? []) {
          const name = src.configMapRef?.name ?? src.secretRef?.name;
          const obj = src.configMapRef ? one('ConfigMap', name as string) : one('Secret', name as string);
          for (const k of Object.keys(obj.data ?? {}).concat(Object.keys(obj.stringData ?? {}))) defined.add(k);
        }
        for (const e of c.env ?? []) {
          // An env value may refer only to variables defined before it.
          for (const m of (e.value ?? '').matchAll(/\$\(([A-Z0-9_]+)\)/g)) expect(defined, `${w.metadata.name}: env ${e.name} uses $(${m[1]})`).toContain(m[1]);
          const ref = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
          if (ref) {
            const obj = e.valueFrom?.secretKeyRef ? one('Secret', ref.name as string) : one('ConfigMap', ref.name as string);
            expect({ ...obj.data, ...obj.stringData }, `${w.metadata.name}: env ${e.name}`).toHaveProperty(ref.key);
          }
          defined.add(e.name);
        }
        for (const arg of c.args ?? []) for (const m of arg.matchAll(/\$\(([A-Z0-9_]+)\)/g)) expect(defined, `${w.metadata.name}: arg ${arg}`).toContain(m[1]);
      }
    }
  });

  it('kustomization.yaml lists every manifest except the Secret template', () => {
    const k = parseAllDocuments(readFileSync(join(DIR, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as { resources: string[] };
    const files = [...new Set(objects.map((o) => o.file))].filter((f) => f !== 'secret.example.yaml').sort();
    expect([...k.resources].sort()).toEqual(files);
  });
});
