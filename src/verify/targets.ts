/**
 * Which containers a verification checks, and where they answer: pure, from the fleet model.
 */
import type { FleetService } from '../fleet/model.ts';
import { parsePeers } from '../../services/_kit/src/config.ts';
import { urlHost } from './options.ts';
import { drawSample } from './sample.ts';
import type { TargetKind, VerifyMode, VerifyTarget } from './types.ts';

/** The fields of a fleet service that target selection reads. */
export type TargetSource = Pick<FleetService, 'name' | 'stage' | 'group' | 'category' | 'hostPort' | 'port'>;

/**
 * Where targets are reached: `published`, at the port each service publishes on `host` (from the machine that
 * runs the fleet, or another); `network`, from inside the fleet's network, at each service's name and its own port
 * (verify run in a container on that network).
 */
export type Addressing = 'published' | 'network';

/** How an infrastructure container is spoken to: PostgreSQL and Redis in their protocols, anything else by TCP. */
export function targetKind(service: Pick<TargetSource, 'name' | 'stage' | 'category'>): TargetKind {
  if (service.stage !== 'infra') return 'service';
  if (service.category === 'database' || service.name === 'postgres') return 'postgres';
  if (service.category === 'cache' || service.name === 'redis') return 'redis';
  return 'tcp';
}

/** How a sample is drawn: see drawSample. */
export interface SampleOptions {
  seed: number;
  /** Non-infrastructure services to check; default one per category. */
  size?: number;
}

/**
 * The targets of a verification, in fleet order. `full`: every container. `sample`: every infrastructure
 * container (PostgreSQL, Redis) and a representative service of each category drawn at random from the sample's
 * seed (more with its size), as the seed's sampling verification tests "a representative service from each
 * category".
 */
export function selectTargets(services: readonly TargetSource[], mode: VerifyMode, host: string, addressing: Addressing = 'published', sample: SampleOptions = { seed: 0 }): VerifyTarget[] {
  const chosen = mode === 'full' ? services : drawSample(services, sample.seed, sample.size);
  return chosen.map((service) => {
    const kind = targetKind(service);
    const scheme = kind === 'service' ? 'http' : 'tcp';
    const [at, port] = addressing === 'network' ? [service.name, service.port] : [host, service.hostPort];
    return {
      name: service.name,
      stage: service.stage,
      group: service.group,
      category: service.category,
      kind,
      host: at,
      port,
      url: `${scheme}://${urlHost(at)}:${port}`,
    };
  });
}

/** The fields of a fleet service that inter-service checks read. */
export type PeerSource = Pick<FleetService, 'name' | 'port' | 'environment'>;

function peersOf(service: PeerSource): Record<string, string> {
  try {
    return parsePeers(service.environment.N3XUS_PEERS);
  } catch {
    return {};
  }
}

/** The peers a service is configured to call (its `N3XUS_PEERS`), by name. */
export function peerNames(service: PeerSource): string[] {
  return Object.keys(peersOf(service));
}

/**
 * The URL at which the fleet's services reach `name` (as one of them has it in `N3XUS_PEERS`), else compose's
 * service DNS name and container port. Used for callbacks the fleet makes to itself, such as a webhook.
 */
export function internalUrl(services: readonly PeerSource[], name: string): string | undefined {
  for (const service of services) {
    const url = peersOf(service)[name];
    if (url !== undefined) return url;
  }
  const target = services.find((s) => s.name === name);
  return target === undefined ? undefined : `http://${name}:${target.port}`;
}
