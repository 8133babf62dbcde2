/**
 * The private registry on the swarm (issue 13, item 2): n3xus/registry:2 (Debian's docker-registry) as the
 * Swarm service `n3xus-registry`, pinned to the node of the engine it is created through (a manager), its storage
 * in a volume there, its port published in host mode on that node. Host mode, because Swarm's ingress mesh needs
 * the kernel's IPVS, which the machines here lack ("Could not get ipvs family information from the kernel" in the
 * engine's log), so a port published through it answers nowhere: the nodes reach the registry at the node's swarm
 * address instead (`10.x.y.z:5000`), which each node's engine must accept over plain HTTP (insecure-registries).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DockerApiError, type DockerEngine } from '../docker/engine.ts';
import { saveImageArchive } from './archive.ts';
import { BASE_IMAGE_TAGS } from './bases.ts';
import { distributeArchive } from './distribute.ts';
import { RegistryError, waitForRegistry } from './registry.ts';

export const REGISTRY_SERVICE = 'n3xus-registry';
export const REGISTRY_VOLUME = 'n3xus-registry-data';
export const REGISTRY_IMAGE = BASE_IMAGE_TAGS.registry;
export const REGISTRY_LABELS = { role: 'n3xus.role' } as const;
const ROLE = 'registry';

/** The registry's service spec (pure): one replica on `nodeId`, port 5000 published as `port` in host mode. */
export function registryServiceSpec(options: { nodeId: string; port: number }): Record<string, unknown> {
  const labels = { [REGISTRY_LABELS.role]: ROLE };
  return {
    Name: REGISTRY_SERVICE,
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: REGISTRY_IMAGE,
        Labels: labels,
        // Everything it writes is in its volume (blobs, uploads in progress).
        ReadOnly: true,
        Mounts: [{ Type: 'volume', Source: REGISTRY_VOLUME, Target: '/var/lib/registry', VolumeOptions: { Labels: labels } }],
        StopGracePeriod: 10_000_000_000,
      },
      Placement: { Constraints: [`node.id==${options.nodeId}`] },
      RestartPolicy: { Condition: 'any', Delay: 1_000_000_000 },
      Resources: { Limits: { MemoryBytes: 256 * 1024 * 1024 } },
    },
    Mode: { Replicated: { Replicas: 1 } },
    // dnsrr: no virtual IP (that too is IPVS); it joins no network anyway.
    EndpointSpec: { Mode: 'dnsrr', Ports: [{ Protocol: 'tcp', TargetPort: 5000, PublishedPort: options.port, PublishMode: 'host' }] },
  };
}

/** Where the registry runs and how it is reached. */
export interface RegistryPlace {
  /** `host:port` as every node (and the CLI, from the swarm's network) reaches it. */
  address: string;
  nodeId: string;
  created: boolean;
  /** Bytes sent to give the node the registry's image (0 when it had it). */
  imageBytes: number;
}

/**
 * Makes sure the registry runs on the swarm of `engine` (a manager), on that engine's node, and answers at
 * `<node address>:<port>`. When that engine lacks the registry's image, it is sent from the engine `from` (the one
 * that built it) the way `images distribute` sends images. An existing registry is kept (with its storage).
 */
export async function ensureRegistry(engine: DockerEngine, options: { port: number; from?: DockerEngine; fromName?: string; signal?: AbortSignal; onLine?: (line: string) => void }): Promise<RegistryPlace> {
  const state = await engine.swarm.state();
  if (state.state !== 'active' || !state.manager) {
    throw new RegistryError(`The engine at ${engine.endpoint.display} is not a swarm manager (swarm ${state.state}${state.state === 'active' ? ', a worker' : ''}), and the registry runs as a Swarm service`, [
      'Point DOCKER_HOST at a manager of the swarm, or make this engine one: n3xus bootstrap --fix --swarm.',
    ]);
  }
  const address = `${state.nodeAddr}:${options.port}`;
  const existing = (await engine.swarm.listServices({ labels: { [REGISTRY_LABELS.role]: ROLE } })).find((s) => s.name === REGISTRY_SERVICE);
  let imageBytes = 0;
  if (existing === undefined) {
    if (!(await engine.image.exists(REGISTRY_IMAGE))) imageBytes = await sendImage(engine, options);
    await engine.swarm.createService(registryServiceSpec({ nodeId: state.nodeId, port: options.port }));
    options.onLine?.(`${REGISTRY_SERVICE}: created on node ${state.nodeId.slice(0, 12)}, port ${options.port} (host mode)`);
  } else {
    const ports = ((existing.spec.EndpointSpec as { Ports?: { PublishedPort?: number }[] } | undefined)?.Ports ?? []).map((p) => p.PublishedPort);
    if (!ports.includes(options.port)) {
      throw new RegistryError(`${REGISTRY_SERVICE} runs already, published on port ${ports.join(', ') || 'none'}, not ${options.port}`, [`Use --port ${ports[0] ?? 5000}, or remove it first: n3xus images registry --remove.`]);
    }
  }
  await waitForRegistry(address, 60_000, options.signal);
  return { address, nodeId: state.nodeId, created: existing === undefined, imageBytes };
}

async function sendImage(engine: DockerEngine, options: { from?: DockerEngine; fromName?: string; signal?: AbortSignal; onLine?: (line: string) => void }): Promise<number> {
  if (options.from === undefined || !(await options.from.image.exists(REGISTRY_IMAGE).catch(() => false))) {
    throw new RegistryError(`${REGISTRY_IMAGE} is on neither the engine at ${engine.endpoint.display} nor the one it would be sent from${options.fromName === undefined ? '' : ` (${options.fromName})`}`, [
      'Build it where the fleet is built: n3xus images build --bases-only, then run this again with --from that engine.',
    ]);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'n3xus-registry-image-'));
  try {
    const saved = await saveImageArchive(options.from, { images: [REGISTRY_IMAGE], outputPath: path.join(dir, 'registry.tar'), ...(options.signal === undefined ? {} : { signal: options.signal }) });
    const sent = await distributeArchive(saved.file, [{ name: engine.endpoint.display, image: engine.image }], options.signal === undefined ? {} : { signal: options.signal });
    const bytes = sent.engines[0]?.bytes ?? 0;
    options.onLine?.(`${REGISTRY_IMAGE}: sent to ${engine.endpoint.display} (${(bytes / 1e6).toFixed(1)} MB)`);
    return bytes;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Removes the registry service (and with `volumes` its storage); resolves when there was none. */
export async function removeRegistry(engine: DockerEngine, options: { volumes?: boolean } = {}): Promise<boolean> {
  const found = (await engine.swarm.listServices({ labels: { [REGISTRY_LABELS.role]: ROLE } })).filter((s) => s.name === REGISTRY_SERVICE);
  for (const service of found) await engine.swarm.removeService(service.id);
  if (options.volumes) {
    // The task's container goes a moment after its service; the volume is in use until then.
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await engine.volume.remove(REGISTRY_VOLUME);
        break;
      } catch (error) {
        if (!(error instanceof DockerApiError && error.statusCode === 409) || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }
  return found.length > 0;
}
