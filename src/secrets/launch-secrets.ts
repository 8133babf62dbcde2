/**
 * The secrets side of a launch: the install's secrets file made or read, the fleet's secret files written from it,
 * their values for the desired instances, and the step that gives each service its PostgreSQL role once the
 * infra stage is up.
 */
import { statSync } from 'node:fs';
import type { FleetDriver } from '../drivers/driver.ts';
import type { Fleet, FleetService } from '../fleet/model.ts';
import { provisionFleet, readSecretValues } from './provision.ts';
import { ensureSecrets, postgresService } from './secrets-file.ts';

export interface LaunchSecrets {
  /** Secret name → value, for the planned services. */
  values: Map<string, string>;
  /** The services' roles, created or updated before any of them starts; absent when n3xus has none to make. */
  beforeServices?: () => Promise<void>;
  /** The secrets file was created by this launch. */
  generated: boolean;
  secretsFile?: string;
}

/**
 * Prepares the secrets of a launch of `services`. A dry run creates and writes nothing: it reads what exists.
 *
 * @throws SecretsError for a secrets file others can read, a malformed one, or a secret file that is missing.
 */
export function fleetSecrets(fleet: Fleet, services: readonly FleetService[], driver: FleetDriver, options: { dryRun: boolean }): LaunchSecrets {
  if (options.dryRun) {
    const readable = services.map((s) => ({ secrets: s.secrets.filter((r) => fleet.secrets[r.source] !== undefined && existsSafe(fleet.secrets[r.source]!.file)) }));
    return { values: readSecretValues(fleet, readable), generated: false };
  }
  const ensured = ensureSecrets(fleet, services, { create: true });
  const values = readSecretValues(fleet, services, ensured.values);
  const pg = postgresService(fleet);
  const secrets = ensured.secrets;
  const managed = ensured.managed;
  const provision = secrets !== undefined && managed !== undefined && pg !== undefined && (driver.managesServer?.(pg) ?? true);
  return {
    values,
    generated: ensured.generated,
    ...(managed === undefined ? {} : { secretsFile: managed.secretsFile }),
    ...(provision ? { beforeServices: () => provisionFleet(fleet, secrets, managed.secretsFile) } : {}),
  };
}

function existsSafe(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
