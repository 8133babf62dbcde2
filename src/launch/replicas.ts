/**
 * `--replicas service=N`: how many copies of a stateless service run. Pure: checked up front, so that bad input
 * stops launch before anything is created.
 */
import type { Fleet } from '../fleet/model.ts';
import type { DriverKind } from '../drivers/driver.ts';
import { CodedError } from '../util/coded-error.ts';

/** A `--replicas` value that cannot be used. */
export class ReplicasError extends CodedError {
  override readonly name = 'ReplicasError';

  constructor(message: string, code: 'INVALID_ARGUMENT' | 'UNKNOWN_SERVICE', suggestions: readonly string[]) {
    super(message, code, suggestions);
  }
}

/** Copies of one service at most: a guard against a typo (30 instead of 3) starting hundreds of tasks. */
export const MAX_REPLICAS = 32;

/**
 * Reads `--replicas` values (`name=N`, each N a whole number from 1 to {@link MAX_REPLICAS}) for `driver`: only
 * Swarm runs copies, and only of stateless services (PostgreSQL and Redis keep state in one place).
 * @throws ReplicasError naming the value, what is wrong and what to do.
 */
export function parseReplicas(values: readonly string[], fleet: Pick<Fleet, 'services'>, driver: DriverKind): Map<string, number> {
  const replicas = new Map<string, number>();
  for (const value of values) {
    const match = /^([^=]+)=(.*)$/.exec(value);
    if (match === null) throw new ReplicasError(`--replicas ${JSON.stringify(value)} is not of the form service=N.`, 'INVALID_ARGUMENT', ['Give it as --replicas identity-registry=3.']);
    const [, name, count] = match as unknown as [string, string, string];
    if (!/^\d+$/.test(count) || Number(count) < 1 || Number(count) > MAX_REPLICAS) {
      throw new ReplicasError(`--replicas ${value}: the count must be a whole number from 1 to ${MAX_REPLICAS}, got ${JSON.stringify(count)}.`, 'INVALID_ARGUMENT', [`Give it as --replicas ${name}=2.`]);
    }
    const service = fleet.services.find((s) => s.name === name);
    if (service === undefined) throw new ReplicasError(`--replicas ${value}: the fleet has no service "${name}".`, 'UNKNOWN_SERVICE', ['Name a service of the fleet file, e.g. --replicas identity-registry=2.']);
    if (service.stage === 'infra' || service.volumes.some((m) => m.type === 'volume')) {
      throw new ReplicasError(`--replicas ${value}: "${name}" keeps state (${service.stage === 'infra' ? 'an infra service' : 'a named volume'}), and its copies would not share it; only stateless services can have replicas.`, 'INVALID_ARGUMENT', ['Drop this --replicas value.']);
    }
    replicas.set(name, Number(count));
  }
  if (replicas.size > 0 && driver !== 'swarm') {
    throw new ReplicasError(`--replicas needs --driver swarm: the ${driver} driver runs one instance per service.`, 'INVALID_ARGUMENT', ['Launch on a swarm: n3xus launch --driver swarm --replicas ...']);
  }
  return replicas;
}
