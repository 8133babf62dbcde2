import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import http from 'node:http';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import type { IContainer, IPodSpec } from 'kubernetes-models/v1';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { interpolationEnv } from '../../src/fleet/env-file.ts';
import { DEFAULT_FLEET_FILE } from '../../src/fleet/fleet-file.ts';
import { loadFleet, parseFleet, type Fleet } from '../../src/fleet/model.ts';
import { stageIndex } from '../../src/fleet/stages.ts';
import { desiredInstances } from '../../src/launch/desired.ts';
import { renderKubernetes, RenderError, waitTargets, type KubernetesObject } from '../../src/render/kubernetes.ts';
import { WAIT_SCRIPT } from '../../src/render/wait-script.ts';
import { checkOutputDir, RENDERED_HEADER, writeManifests } from '../../src/render/write-manifests.ts';
import { managedSecretValues, type InstallSecrets } from '../../src/secrets/secrets-file.ts';

// The shipped fleet, with the images `n3xus images build` makes (airgap.env), and fixed install secrets.
const fleet = loadFleet(DEFAULT_FLEET_FILE, { env: interpolationEnv(DEFAULT_FLEET_FILE).env });
const install: InstallSecrets = { postgresPassword: 'pg-password-0123456789abcdef', redisPassword: 'redis-password-0123456789abc', serviceKey: 'service-key-0123456789abcdefgh' };
const secretValues = managedSecretValues(fleet, install);
const input = { fleet, project: 'n3xus', namespace: 'n3xus', secretValues };
/** Every value a pod gets as a secret: the compose secrets and the credentials given as environment (the handshake). */
const allSecretValues = [...new Set(desiredInstances(fleet, 'n3xus', fleet.services, new Map(), new Map(), secretValues).flatMap((want) => want.secrets.map((s) => s.value)))];

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-render-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Renders into a fresh directory and reads every object back from the YAML written. */
function renderToDir(): { dir: string; objects: KubernetesObject[] } {
  const dir = tempDir();
  writeManifests(dir, renderKubernetes(input));
  const objects = readdirSync(dir)
    .sort()
    .flatMap((name) => parseAllDocuments(readFileSync(path.join(dir, name), 'utf8')).map((doc) => doc.toJS() as KubernetesObject));
  return { dir, objects };
}

const rendered = renderToDir();
const byKind = <K extends KubernetesObject['kind']>(kind: K): Extract<KubernetesObject, { kind: K }>[] => rendered.objects.filter((o): o is Extract<KubernetesObject, { kind: K }> => o.kind === kind);
const podSpecs = (): { name: string; spec: IPodSpec }[] =>
  [...byKind('Deployment'), ...byKind('StatefulSet'), ...byKind('Job')].map((w) => ({ name: `${w.kind}/${w.metadata!.name}`, spec: w.spec!.template.spec! }));
const containersOf = (spec: IPodSpec): IContainer[] => [...(spec.initContainers ?? []), ...spec.containers];

const MODELS: Record<string, new (data: never) => { validate(): void }> = { Namespace, Secret, ConfigMap, Service, Deployment, StatefulSet, NetworkPolicy, Job };

describe('render kubernetes', () => {
  it('writes objects that pass the Kubernetes API schemas, read back from the YAML files', () => {
    expect(rendered.objects.length).toBeGreaterThan(2 * fleet.services.length);
    for (const object of rendered.objects) {
      const Model = MODELS[object.kind];
      expect(Model, object.kind).toBeDefined();
      expect(() => new Model!(object as never).validate(), `${object.kind}/${object.metadata?.name}`).not.toThrow();
    }
  });

  it('gives every service a workload and a ClusterIP Service named after it, PostgreSQL a StatefulSet with a claim', () => {
    const workloads = new Map([...byKind('Deployment'), ...byKind('StatefulSet')].map((w) => [w.metadata!.name, w]));
    const services = new Map(byKind('Service').map((s) => [s.metadata!.name, s]));
    for (const service of fleet.services) {
      expect(workloads.get(service.name)?.spec?.template.spec?.containers[0]?.image).toBe(service.image);
      expect(services.get(service.name)?.spec).toMatchObject({ type: 'ClusterIP', ports: [{ port: service.port }] });
    }
    const postgres = byKind('StatefulSet').find((s) => s.metadata!.name === 'postgres');
    expect(postgres?.spec?.volumeClaimTemplates?.map((c) => c.metadata?.name)).toEqual(['pgdata']);
    expect(postgres?.spec?.template.spec?.securityContext).toMatchObject({ runAsUser: 999, fsGroup: 999 });
  });

  it('probes every microservice over HTTP, liveness on /health and readiness on /ready at its port, and PostgreSQL and Redis by exec or TCP', () => {
    for (const deployment of [...byKind('Deployment'), ...byKind('StatefulSet')]) {
      const main = deployment.spec!.template.spec!.containers[0]!;
      const service = fleet.services.find((s) => s.name === deployment.metadata!.name)!;
      const port = main.ports?.find((p) => p.name === main.livenessProbe?.httpGet?.port || p.name === main.livenessProbe?.tcpSocket?.port);
      expect(port?.containerPort, deployment.metadata!.name).toBe(Number(service.labels['n3xus.port']));
      if (service.stage === 'infra') {
        expect(main.livenessProbe?.tcpSocket ?? main.livenessProbe?.exec, service.name).toBeDefined();
        expect(main.readinessProbe?.tcpSocket ?? main.readinessProbe?.exec, service.name).toBeDefined();
      } else {
        expect(main.livenessProbe?.httpGet?.path, service.name).toBe('/health');
        expect(main.readinessProbe?.httpGet?.path, service.name).toBe('/ready');
      }
    }
    const postgres = byKind('StatefulSet')[0]!.spec!.template.spec!.containers[0]!;
    expect(postgres.readinessProbe?.exec?.command?.[0]).toBe('pg_isready');
  });

  it('runs every container of every pod under the restricted profile, and labels the namespace to enforce it', () => {
    for (const { name, spec } of podSpecs()) {
      expect(spec.securityContext, name).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      expect(spec.securityContext?.runAsUser, name).toBeGreaterThan(0);
      for (const container of containersOf(spec)) {
        expect(container.securityContext, `${name} ${container.name}`).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        expect(container.securityContext?.capabilities?.add ?? [], `${name} ${container.name}`).toEqual([]);
      }
    }
    expect(byKind('Namespace')[0]?.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('gives each compose tmpfs a memory emptyDir, since the root file system is read-only', () => {
    for (const service of fleet.services) {
      const workload = [...byKind('Deployment'), ...byKind('StatefulSet')].find((w) => w.metadata!.name === service.name)!;
      const mounts = workload.spec!.template.spec!.containers[0]!.volumeMounts!.map((m) => m.mountPath);
      for (const tmpfs of service.tmpfs) expect(mounts, service.name).toContain(tmpfs.split(':')[0]);
    }
  });

  it('puts no secret value in any environment value, nor anywhere outside the Secrets file', () => {
    expect(allSecretValues.length).toBeGreaterThan(3 * (fleet.services.length - 2));
    expect(allSecretValues).toContain(fleet.services.find((s) => s.stage !== 'infra')!.environment.N3XUS_HANDSHAKE);
    for (const { name, spec } of podSpecs()) {
      for (const container of containersOf(spec)) {
        for (const variable of container.env ?? []) {
          for (const secret of allSecretValues) expect(variable.value ?? '', `${name} ${container.name} ${variable.name}`).not.toContain(secret);
        }
      }
    }
    for (const file of readdirSync(rendered.dir).filter((f) => f !== '01-secrets.yaml')) {
      const text = readFileSync(path.join(rendered.dir, file), 'utf8');
      for (const secret of allSecretValues) expect(text.includes(secret), `${file} holds a secret value`).toBe(false);
    }
  });

  it('mounts each service its secrets at /run/secrets/<target>, as compose does, from Secrets that hold the values', () => {
    const data = new Map(byKind('Secret').flatMap((s) => Object.entries(s.data!).map(([key, value]) => [`${s.metadata!.name}/${key}`, Buffer.from(value, 'base64').toString('utf8')])));
    for (const want of desiredInstances(fleet, 'n3xus', fleet.services, new Map(), new Map(), secretValues)) {
      const spec = [...byKind('Deployment'), ...byKind('StatefulSet')].find((w) => w.metadata!.name === want.service.name)!.spec!.template.spec!;
      const sources = spec.volumes!.find((v) => v.name === 'secrets')!.projected!.sources!;
      const files = new Map(sources.flatMap((source) => source.secret!.items!.map((item) => [item.path, data.get(`${source.secret!.name}/${item.key}`)])));
      expect(spec.containers[0]!.volumeMounts).toContainEqual({ name: 'secrets', mountPath: '/run/secrets', readOnly: true });
      for (const secret of want.secrets) expect(files.get(secret.target), `${want.service.name} ${secret.target}`).toBe(secret.value);
    }
    expect(statSync(path.join(rendered.dir, '01-secrets.yaml')).mode & 0o777).toBe(0o600);
  });

  it('renders the same bytes from the same input', () => {
    const other = renderToDir();
    const names = readdirSync(rendered.dir).sort();
    expect(readdirSync(other.dir).sort()).toEqual(names);
    for (const name of names) expect(readFileSync(path.join(other.dir, name), 'utf8'), name).toBe(readFileSync(path.join(rendered.dir, name), 'utf8'));
  });

  it('sets limits from the compose file and requests from the seed budget, each request within its limit', () => {
    const v = byKind('Deployment').find((d) => d.metadata!.name === 'v-supercore')!.spec!.template.spec!.containers[0]!;
    expect(v.resources).toEqual({ requests: { cpu: '100m', memory: '102Mi' }, limits: { cpu: '500m', memory: '128Mi' } });
    const postgres = byKind('StatefulSet')[0]!.spec!.template.spec!.containers[0]!;
    expect(postgres.resources?.limits).toEqual({ memory: '512Mi' });
  });

  it('keeps the stage order: a pod waits for PostgreSQL, Redis, the stage before its own and its earlier peers, never its own stage or a later one', () => {
    const byName = new Map(fleet.services.map((s) => [s.name, s]));
    for (const service of fleet.services.filter((s) => s.stage !== 'infra')) {
      const targets = waitTargets(fleet, service);
      expect(targets.slice(0, 2), service.name).toEqual(['tcp://postgres:5432', 'tcp://redis:6379']);
      for (const target of targets.slice(2)) {
        const peer = byName.get(new URL(target).hostname)!;
        expect(stageIndex(peer.stage), `${service.name} waits for ${peer.name}`).toBeLessThan(stageIndex(service.stage));
      }
    }
    expect(waitTargets(fleet, byName.get('v-supercore')!)).toEqual(['tcp://postgres:5432', 'tcp://redis:6379']);
    const gateway = waitTargets(fleet, byName.get('federation-gateway')!);
    expect(gateway).toEqual(['tcp://postgres:5432', 'tcp://redis:6379', 'http://v-supercore:3001/ready', 'http://puabo-api-ai-hf:3002/ready']);
    const domain = fleet.services.find((s) => s.stage === 'domain')!;
    for (const federation of fleet.services.filter((s) => s.stage === 'federation')) expect(waitTargets(fleet, domain)).toContain(`http://${federation.name}:${federation.port}/ready`);
  });

  it('lets ingress in from nowhere outside the namespace, and into PostgreSQL and Redis only from the fleet', () => {
    const policies = new Map(byKind('NetworkPolicy').map((p) => [p.metadata!.name, p.spec!]));
    expect(policies.get('default-deny-ingress')).toEqual({ podSelector: {}, policyTypes: ['Ingress'] });
    for (const name of ['postgres', 'redis']) {
      const policy = policies.get(`${name}-from-fleet`)!;
      expect(policy.podSelector?.matchLabels?.['app.kubernetes.io/name']).toBe(name);
      expect(policy.ingress).toHaveLength(1);
      expect(policy.ingress![0]!.from).toEqual([{ podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'n3xus' }, matchExpressions: [{ key: 'app.kubernetes.io/component', operator: 'In', values: ['service', 'verify'] }] } }]);
      expect(policy.ingress![0]!.from!.some((peer) => peer.namespaceSelector !== undefined || peer.ipBlock !== undefined)).toBe(false);
    }
  });

  it('runs verify --full from the CLI image in a Job, handed the fleet as verify --in-network hands it', () => {
    const job = byKind('Job')[0]!;
    const verify = job.spec!.template.spec!.containers[0]!;
    expect(verify.image).toBe('n3xus/cli:3.0');
    expect(verify.args).toEqual(['verify', '--network-input', '--full', '--no-docker']);
    const input = byKind('ConfigMap').find((c) => c.metadata!.name === 'verify-input')!.data!['input.json']!;
    expect(JSON.parse(input).fleet.entry.services).toHaveLength(fleet.services.length);
    expect(job.spec!.template.spec!.initContainers![0]!.command!.filter((a) => a.endsWith('/ready'))).toHaveLength(fleet.services.length - 2);
  });

  it('refuses a service name that cannot be a Kubernetes Service name, naming it', () => {
    const labels = { 'n3xus.stage': 'core', 'n3xus.group': 'g', 'n3xus.category': 'c', 'n3xus.port': '3001' };
    const bad: Fleet = parseFleet(stringify({ services: { Web_1: { image: 'w:1', ports: ['127.0.0.1:3001:3001'], labels } } }), 'bad.yml', { env: {} });
    expect(() => renderKubernetes({ ...input, fleet: bad })).toThrow(RenderError);
    expect(() => renderKubernetes({ ...input, fleet: bad })).toThrow(/service "Web_1" cannot be a Kubernetes Service name/);
    expect(() => renderKubernetes({ ...input, namespace: 'N3xus' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('refuses an output path that is a file, and removes only the files an earlier render wrote that this one does not', () => {
    const dir = tempDir();
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    expect(() => checkOutputDir(file)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('is a file') }));
    writeFileSync(path.join(dir, '17-extended-gone.yaml'), `${RENDERED_HEADER}\n---\n{}\n`);
    writeFileSync(path.join(dir, 'mine.yaml'), 'kind: Mine\n');
    const written = writeManifests(dir, renderKubernetes(input));
    expect(written.removed).toEqual(['17-extended-gone.yaml']);
    expect(readdirSync(dir)).toContain('mine.yaml');
  });
});

describe('the init containers\' wait script', () => {
  it('exits 0 once every target answers: HTTP 200 on the URL, a TCP connection on the port', async () => {
    let asked = 0;
    const server = http.createServer((_, response) => {
      asked += 1;
      response.writeHead(asked < 2 ? 503 : 200).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const dir = tempDir();
    writeFileSync(path.join(dir, 'wait.mjs'), WAIT_SCRIPT);
    // Asynchronously, so this process's server answers meanwhile; a non-zero exit rejects.
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(dir, 'wait.mjs'), `http://127.0.0.1:${port}/ready`, `tcp://127.0.0.1:${port}`], { timeout: 20_000 });
    server.close();
    expect(stdout).toMatch(/waiting 0 s for http:\/\/127\.0\.0\.1:\d+\/ready\n[\s\S]*ready after \d+ s/);
  });
});
