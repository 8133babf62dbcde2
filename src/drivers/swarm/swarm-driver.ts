/**
 * The fleet on Docker Swarm, through the one door (src/docker/engine.ts): each desired instance is a Swarm service
 * (its tasks are the copies), on an attachable overlay network; credentials are Swarm secrets mounted as files;
 * the loopback gateway (gateway.ts) publishes every service on 127.0.0.1. The orchestration is launch.ts's,
 * unchanged: Swarm starts a service when it is created, and stopping one scales it to 0.
 */
import { DockerApiError, type DockerEngine } from '../../docker/engine.ts';
import type { SwarmNodeInfo, SwarmServiceInfo, SwarmTaskInfo } from '../../docker/types.ts';
import type { Fleet } from '../../fleet/model.ts';
import { reachNetworks, type DesiredInstance, type DesiredResources } from '../../launch/desired.ts';
import { STATE_LABELS } from '../../launch/labels.ts';
import { portFree, PortBusyError } from '../../launch/prechecks.ts';
import { streamServiceLogs } from '../../logs/service-logs.ts';
import { checkInternal, MissingExternalError } from '../docker/docker-driver.ts';
import { CodedError } from '../../util/coded-error.ts';
import type { DriverLogOptions, FleetDriver, Instance } from '../driver.ts';
import { dataNodeNote, dataNodeProblem, DataNodeUnavailableError, type DataNodeProblem } from './data-node.ts';
import { GATEWAY_LABELS, GATEWAY_ROLE, gatewaySpec, type GatewayRoute } from './gateway.ts';
import { serviceInstance } from './service-instance.ts';
import { dataNodeLabel, serviceSpec } from './service-spec.ts';

/** The engine cannot run the fleet as Swarm services: it is not in a swarm, or it is a worker. */
export class SwarmUnavailableError extends CodedError {
  override readonly name = 'SwarmUnavailableError';

  constructor(message: string, suggestions: readonly string[]) {
    super(message, 'SWARM_UNAVAILABLE', suggestions);
  }
}

/**
 * Checks that `engine` is a swarm manager, the only kind of node that can create services.
 * @throws SwarmUnavailableError (exit 24) when it is not in a swarm, or is a worker; nothing is changed.
 */
export async function requireSwarmManager(engine: Pick<DockerEngine, 'swarm' | 'endpoint'>): Promise<void> {
  const swarm = await engine.swarm.state();
  if (swarm.state !== 'active') {
    throw new SwarmUnavailableError(`The Docker engine at ${engine.endpoint.display} is not in a swarm (swarm state: ${swarm.state}), so --driver swarm has nothing to run the fleet on. Nothing was changed.`, [
      'Make this engine a one-node swarm: n3xus bootstrap --fix --swarm (or docker swarm init --advertise-addr 127.0.0.1)',
      'Or run the fleet on the engine alone: --driver docker',
    ]);
  }
  if (!swarm.manager) {
    throw new SwarmUnavailableError(`The Docker engine at ${engine.endpoint.display} is a swarm worker (node ${swarm.nodeId.slice(0, 12)}): only a manager can create, change or remove services. Nothing was changed.`, [
      'Run n3xus on a manager node, or point DOCKER_HOST at one (docker node ls, on a manager, lists them).',
    ]);
  }
}

/** Tasks still holding a network keep it from being removed: this long is waited for them to go. */
const NETWORK_RELEASE_TIMEOUT_MS = 60_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface SwarmDriverOptions {
  /** The fleet, needed to launch (the gateway forwards every service's port); not needed to observe or remove. */
  fleet?: Fleet;
}

export class SwarmDriver implements FleetDriver {
  readonly kind = 'swarm' as const;
  readonly logTimestamps = true;
  readonly engine: DockerEngine;
  readonly #fleet: Fleet | undefined;
  /** Secret names to IDs, filled by prepare(). */
  readonly #secretIds = new Map<string, string>();
  /** The user each image runs as, filled by resolveImages(): the owner of its secret files. */
  readonly #imageUsers = new Map<string, string>();

  constructor(engine: DockerEngine, options: SwarmDriverOptions = {}) {
    this.engine = engine;
    this.#fleet = options.fleet;
  }

  async #tasks(services: readonly SwarmServiceInfo[]): Promise<SwarmTaskInfo[]> {
    return this.engine.swarm.listTasks({ services: services.map((s) => s.id) });
  }

  async observe(project: string): Promise<Instance[]> {
    const services = await this.engine.swarm.listServices({ labels: { [STATE_LABELS.project]: project } });
    const tasks = await this.#tasks(services);
    return services.map((s) => serviceInstance(s, tasks));
  }

  async resolveImages(images: readonly string[]): Promise<Map<string, string | undefined>> {
    const result = new Map<string, string | undefined>();
    await Promise.all(
      [...new Set(images)].map(async (image) => {
        try {
          const info = await this.engine.image.inspect(image);
          result.set(image, info.id);
          this.#imageUsers.set(image, info.user);
        } catch (error) {
          if (error instanceof DockerApiError && error.statusCode === 404) result.set(image, undefined);
          else throw error;
        }
      }),
    );
    return result;
  }

  /** Every TCP port of the fleet, as the gateway forwards it. */
  #routes(): GatewayRoute[] {
    if (this.#fleet === undefined) throw new TypeError('The Swarm driver needs the fleet to launch');
    return this.#fleet.services.flatMap((s) => s.ports.filter((p) => p.protocol === 'tcp').map((p) => ({ hostPort: p.hostPort, target: s.name, port: p.containerPort })));
  }

  async #gateway(project: string): Promise<Instance | undefined> {
    const found = await this.engine.container.list({ labels: { [STATE_LABELS.project]: project, [GATEWAY_LABELS.role]: GATEWAY_ROLE } });
    return found.find((c) => c.running) ?? found[0];
  }

  /**
   * The ports the gateway will publish that something else holds: another program on 127.0.0.1 (the gateway of
   * this project holds its own), or another Swarm service that publishes it on every interface.
   */
  async checkPorts(project: string): Promise<PortBusyError | undefined> {
    const routes = this.#routes();
    const gateway = await this.#gateway(project);
    const own = new Set(Object.values(gateway?.ports ?? {}));
    const published = new Map<number, string>();
    for (const s of await this.engine.swarm.listServices({ labels: {} })) {
      if (s.labels[STATE_LABELS.project] === project) continue;
      const ports = ((s.spec.EndpointSpec as { Ports?: { PublishedPort?: number }[] } | undefined)?.Ports ?? []).map((p) => p.PublishedPort);
      for (const port of ports) if (port !== undefined) published.set(port, s.name);
    }
    const busy: { port: number; service: string; heldBy?: string }[] = [];
    for (const route of routes) {
      const other = published.get(route.hostPort);
      if (other !== undefined) busy.push({ port: route.hostPort, service: route.target, heldBy: `Swarm service "${other}", published on every interface` });
      else if (!own.has(route.hostPort) && !(await portFree(route.hostPort))) busy.push({ port: route.hostPort, service: route.target });
    }
    return busy.length === 0 ? undefined : new PortBusyError(busy);
  }

  /** The nodes, the project's data node label, and what keeps the data from being where that label says. */
  async #dataNode(project: string): Promise<{ label: string; nodes: SwarmNodeInfo[]; here: string; problem: DataNodeProblem | undefined }> {
    const label = dataNodeLabel(project);
    const [nodes, { nodeId: here }] = await Promise.all([this.engine.swarm.listNodes(), this.engine.swarm.state()]);
    return { label, nodes, here, problem: dataNodeProblem(nodes, label, here) };
  }

  async statusNotes(project: string): Promise<string[]> {
    const { problem, label } = await this.#dataNode(project);
    const note = dataNodeNote(problem, label);
    return note === undefined ? [] : [note];
  }

  async prepare(resources: DesiredResources): Promise<void> {
    const project = resources.project;
    // The project's data (its named volumes, PostgreSQL, Redis) lives on one node: the node labelled as its data
    // node, this one the first time. Checked before anything is created: on a node that cannot hold it, PostgreSQL
    // would stay pending, or start empty elsewhere.
    const { label, nodes, here, problem } = await this.#dataNode(project);
    if (problem !== undefined) throw new DataNodeUnavailableError(problem, project, label, resources.volumes.map((v) => v.name));
    const existing = new Map((await this.engine.network.list({ labels: {} })).map((n) => [n.name, n]));
    // The gateway joins every network of the fleet that is not internal, whichever services this launch starts,
    // so that it need not be recreated (and its ports dropped) when a later launch starts the others.
    const gatewayNetworks = this.#fleet === undefined ? [] : reachNetworks(this.#fleet, project);
    const networks = [...resources.networks, ...gatewayNetworks.filter((g) => !resources.networks.some((n) => n.name === g.name))];
    // Checked for every network before anything is created: a bridge of the same name (the Docker driver's, or
    // bootstrap --fix without --swarm) cannot carry Swarm services.
    for (const network of networks) {
      const found = existing.get(network.name);
      // By scope, not driver: a swarm network's driver reads empty until the swarm's allocator has allocated it.
      if (found !== undefined && found.scope !== 'swarm') {
        throw new SwarmUnavailableError(`The network "${network.name}" exists as a ${found.driver || 'local'} network (scope ${found.scope || 'local'}), and Swarm services can only join an overlay network. Nothing was created.`, [
          `If it is the Docker driver's, take that fleet down first: n3xus down --driver docker (or docker network rm ${network.name} when nothing uses it).`,
          'Then launch again: --driver swarm creates it as an overlay network (or n3xus bootstrap --fix --swarm does).',
        ]);
      }
    }
    checkInternal(networks, existing);
    for (const network of networks) {
      if (existing.has(network.name)) continue;
      if (network.external) throw new MissingExternalError('network', network.name);
      try {
        // Attachable, so that the gateway (a plain container) and in-network verify can join it.
        await this.engine.network.create({ name: network.name, labels: network.labels, internal: network.internal, driver: 'overlay', attachable: true });
      } catch (error) {
        if (!(error instanceof DockerApiError && error.statusCode === 409)) throw error;
      }
    }
    if (!nodes.some((n) => n.labels[label] === 'true')) {
      const node = nodes.find((n) => n.id === here);
      if (node !== undefined) await this.engine.swarm.updateNodeLabels(node, { ...node.labels, [label]: 'true' });
    }
    if (resources.volumes.length > 0) {
      const volumes = new Set((await this.engine.volume.list({ labels: {} })).map((v) => v.name));
      for (const volume of resources.volumes) {
        if (volumes.has(volume.name)) continue;
        if (volume.external) throw new MissingExternalError('volume', volume.name);
        await this.engine.volume.create({ name: volume.name, labels: volume.labels });
      }
    }
    if (resources.secrets.length > 0) {
      const have = new Map((await this.engine.swarm.listSecrets({ labels: {} })).map((s) => [s.name, s.id]));
      for (const secret of resources.secrets) {
        let id = have.get(secret.name);
        if (id === undefined) {
          try {
            id = await this.engine.swarm.createSecret({ name: secret.name, data: secret.value, labels: secret.labels });
          } catch (error) {
            // Another launch created it meanwhile (the name holds the value's hash, so it is the same secret).
            if (!(error instanceof DockerApiError && error.statusCode === 409)) throw error;
            id = (await this.engine.swarm.listSecrets({ labels: {} })).find((s) => s.name === secret.name)?.id;
          }
        }
        if (id !== undefined) this.#secretIds.set(secret.name, id);
      }
    }
    if (gatewayNetworks.length > 0) await this.#ensureGateway(project, gatewayNetworks.map((n) => n.name));
  }

  /** Creates the loopback gateway, or recreates it when what it forwards (or its image, or its networks) changed. */
  async #ensureGateway(project: string, networks: readonly string[]): Promise<void> {
    const runner = this.#fleet?.services.find((s) => s.stage !== 'infra');
    if (runner === undefined) return;
    const imageId = (await this.engine.image.inspect(runner.image)).id;
    const spec = gatewaySpec(project, runner.image, imageId, networks, this.#routes());
    const current = await this.#gateway(project);
    if (current !== undefined && current.running && current.labels[GATEWAY_LABELS.configHash] === spec.labels?.[GATEWAY_LABELS.configHash]) return;
    if (current !== undefined) await this.engine.container.remove(current.id);
    const id = await this.engine.container.create(spec);
    try {
      await this.engine.container.start(id);
    } catch (error) {
      await this.engine.container.remove(id).catch(() => undefined);
      throw error;
    }
  }

  #spec(want: DesiredInstance): Record<string, unknown> {
    return serviceSpec(want, { secretIds: this.#secretIds, imageUser: this.#imageUsers.get(want.service.image) ?? '' });
  }

  async create(want: DesiredInstance): Promise<string> {
    return this.engine.swarm.createService(this.#spec(want));
  }

  async update(id: string, want: DesiredInstance): Promise<string> {
    const current = await this.engine.swarm.inspectService(id);
    const spec = this.#spec(want);
    // A port the user published by hand (docker service update --publish-add) is theirs: it survives the update.
    const published = (current.spec.EndpointSpec as { Ports?: unknown[] } | undefined)?.Ports;
    if (published !== undefined && published.length > 0) spec.EndpointSpec = { ...(spec.EndpointSpec as object), Ports: published };
    // New tasks even when the spec is the same (a dead service recreated as it is): Swarm's --force.
    const forced = Number((current.spec.TaskTemplate as { ForceUpdate?: number } | undefined)?.ForceUpdate ?? 0);
    spec.TaskTemplate = { ...(spec.TaskTemplate as object), ForceUpdate: forced + 1 };
    await this.engine.swarm.updateService(id, current.version, spec);
    return id;
  }

  /** Scales the service back to the replicas launch asked for (a created service already runs). */
  async start(id: string): Promise<void> {
    const current = await this.engine.swarm.inspectService(id);
    const wanted = Number(current.labels[STATE_LABELS.replicas] ?? '1');
    if (current.replicas === wanted) return;
    await this.#scale(current, wanted);
  }

  async #scale(service: SwarmServiceInfo, replicas: number): Promise<void> {
    await this.engine.swarm.updateService(service.id, service.version, { ...service.spec, Mode: { Replicated: { Replicas: replicas } } });
  }

  /** Scales the service to 0: its tasks stop, the service (and its labels) stays, so start brings it back. */
  async stop(id: string): Promise<void> {
    let current: SwarmServiceInfo;
    try {
      current = await this.engine.swarm.inspectService(id);
    } catch (error) {
      if (error instanceof DockerApiError && error.statusCode === 404) return;
      throw error;
    }
    if (current.replicas !== 0) await this.#scale(current, 0);
  }

  remove(id: string): Promise<void> {
    return this.engine.swarm.removeService(id);
  }

  async inspect(id: string): Promise<Instance> {
    const service = await this.engine.swarm.inspectService(id);
    const tasks = await this.#tasks([service]);
    return serviceInstance(service, tasks, await this.#nodeNames(tasks));
  }

  /** Node ID → hostname, listed once per driver and again when a task runs on a node not seen yet. */
  #nodes: Promise<Map<string, string>> | undefined;
  async #nodeNames(tasks: readonly SwarmTaskInfo[]): Promise<Map<string, string>> {
    let names = await this.#nodes;
    if (names === undefined || tasks.some((t) => t.nodeId !== '' && !names!.has(t.nodeId))) {
      this.#nodes = this.engine.swarm.listNodes().then((nodes) => new Map(nodes.map((n) => [n.id, n.hostname || n.id])));
      names = await this.#nodes;
    }
    return names;
  }

  async logs(id: string, tailLines: number): Promise<string[]> {
    const lines: string[] = [];
    let partial = '';
    await streamServiceLogs({ container: { logStream: (i, o) => this.engine.swarm.serviceLogStream(i, o) } }, id, {
      tailLines,
      onOutput: (_stream, payload) => {
        const parts = (partial + payload.toString('utf8')).split('\n');
        partial = parts.pop() ?? '';
        lines.push(...parts.filter((l) => l.trim() !== ''));
      },
    });
    if (partial.trim() !== '') lines.push(partial);
    return lines.slice(-tailLines);
  }

  async streamLogs(id: string, options: DriverLogOptions): Promise<{ interrupted: boolean }> {
    const { interrupted } = await streamServiceLogs({ container: { logStream: (i, o) => this.engine.swarm.serviceLogStream(i, o) } }, id, options);
    return { interrupted };
  }

  notices(): string[] {
    return ['Every service is published on 127.0.0.1 only, through the loopback gateway container; nothing is reachable from other machines unless you publish it (see README, Docker Swarm).'];
  }

  async removeResources(project: string, options: { volumes: boolean }): Promise<{ networks: string[]; volumes: string[] }> {
    const label = { [STATE_LABELS.project]: project };
    for (const gateway of await this.engine.container.list({ labels: { ...label, [GATEWAY_LABELS.role]: GATEWAY_ROLE } })) await this.engine.container.remove(gateway.id);
    // Removed services leave their tasks' containers behind for a moment, and a network in use cannot be removed.
    const deadline = Date.now() + NETWORK_RELEASE_TIMEOUT_MS;
    // down is done when none of them is left (a test met one still listed after down returned).
    while (Date.now() < deadline && (await this.engine.container.list({ labels: label })).length > 0) await sleep(250);
    const networks = await this.engine.network.list({ labels: label });
    for (const n of networks) {
      for (;;) {
        try {
          await this.engine.network.remove(n.id);
          break;
        } catch (error) {
          if (!(error instanceof DockerApiError) || Date.now() > deadline) throw error;
          await sleep(500);
        }
      }
    }
    for (const s of await this.engine.swarm.listSecrets({ labels: label })) await this.engine.swarm.removeSecret(s.id);
    for (const c of await this.engine.swarm.listConfigs({ labels: label })) await this.engine.swarm.removeConfig(c.id);
    const volumes = options.volumes ? await this.engine.volume.list({ labels: label }) : [];
    for (const v of volumes) await this.#removeVolume(v.name, deadline);
    if (options.volumes) {
      // The data is gone: the node no longer holds the project's data.
      const key = dataNodeLabel(project);
      for (const node of await this.engine.swarm.listNodes()) {
        if (node.labels[key] === undefined) continue;
        const { [key]: _dropped, ...rest } = node.labels;
        await this.engine.swarm.updateNodeLabels(node, rest);
      }
    }
    return { networks: networks.map((n) => n.name), volumes: volumes.map((v) => v.name) };
  }

  async #removeVolume(name: string, deadline: number): Promise<void> {
    for (;;) {
      try {
        await this.engine.volume.remove(name);
        return;
      } catch (error) {
        // In use by a task's container that is still being removed.
        if (!(error instanceof DockerApiError && error.statusCode === 409) || Date.now() > deadline) throw error;
        await sleep(500);
      }
    }
  }
}
