/**
 * What `n3xus bootstrap --fix` does about a {@link Repair}: create the fleet's missing networks, build the missing
 * base images, build our catalog's missing service images. Each returns what it did, in a few words.
 */
import { DockerApiError, type DockerEngine } from '../docker/engine.ts';
import type { BaseImageEvent } from '../images/bases.ts';
import { buildImages } from '../images/build-images.ts';
import { serviceImagesBuilder } from '../images/service-images.ts';
import { STATE_LABELS } from '../launch/labels.ts';
import type { Repair } from './checks.ts';
import type { Fleet } from '../fleet/model.ts';
import { ensureSecrets } from '../secrets/secrets-file.ts';
import { installServers, type InstallConsent } from './install-servers.ts';

export interface RepairContext {
  engine: DockerEngine;
  project: string;
  /** Labels added to what is created, beside `n3xus.project` (tests mark their networks with these). */
  labels: Readonly<Record<string, string>>;
  /** Progress lines (build output). */
  onLine: (line: string) => void;
  /** The fleet, for the repairs that write its files (the secrets). */
  fleet?: Fleet;
  /** Whether the user agreed to install system packages (`--yes` or the prompt); default not. */
  install?: InstallConsent;
}

function describeBaseEvent(event: BaseImageEvent): string {
  if (event.type === 'output') return event.line;
  if (event.type === 'skip') return `${event.tag}: ${event.cause}`;
  if (event.type === 'start') return `${event.tag}: building (${event.cause})…`;
  return `${event.tag}: built in ${(event.durationMs / 1000).toFixed(1)} s`;
}

/** Performs one repair and returns what was done, e.g. `created nexus-net`; rejects with the error that stopped it. */
export async function performRepair(repair: Repair, context: RepairContext): Promise<string> {
  const { engine, onLine } = context;
  if (repair.kind === 'install-servers') return installServers(repair.plan, context.install ?? { allowed: false, why: 'no-terminal' }, onLine);
  if (repair.kind === 'write-secrets') {
    if (context.fleet === undefined) throw new TypeError('write-secrets needs the fleet');
    const ensured = ensureSecrets(context.fleet, context.fleet.services, { create: repair.create });
    const wrote = `wrote ${ensured.written.length} secret ${ensured.written.length === 1 ? 'file' : 'files'}`;
    return ensured.generated ? `created ${ensured.managed!.secretsFile} (owner-only), ${wrote}` : wrote;
  }
  if (repair.kind === 'swarm-init') {
    await engine.swarm.init({ advertiseAddr: repair.advertiseAddr });
    return `made this engine a one-node swarm advertised on ${repair.advertiseAddr}`;
  }
  if (repair.kind === 'create-networks') {
    for (const network of repair.networks) {
      try {
        await engine.network.create({
          name: network.name,
          internal: network.internal,
          labels: { ...context.labels, [STATE_LABELS.project]: context.project },
          // For Swarm: an overlay network that plain containers (the loopback gateway) can join too.
          ...(repair.overlay ? { driver: 'overlay' as const, attachable: true } : {}),
        });
      } catch (error) {
        // Another run (or a launch) may have created it since the check: that is the state wanted.
        if (!(error instanceof DockerApiError && error.statusCode === 409)) throw error;
      }
    }
    return `created ${repair.networks.map((n) => n.name).join(', ')}`;
  }
  if (repair.kind === 'build-base-images') {
    const result = await buildImages({ engine, basesOnly: true, onBaseProgress: (event) => onLine(describeBaseEvent(event)) });
    const built = result.bases.filter((b) => b.action === 'built').map((b) => b.tag);
    return built.length === 0 ? 'base images already up to date' : `built ${built.join(', ')}`;
  }
  const result = await buildImages({
    engine,
    onBaseProgress: (event) => onLine(describeBaseEvent(event)),
    onServiceLine: onLine,
    buildServices: serviceImagesBuilder({ only: repair.services }),
  });
  const built = (result.services ?? []).filter((s) => s.action === 'built').length;
  return `built ${built} service ${built === 1 ? 'image' : 'images'}`;
}
