/**
 * What launch checks before it changes anything, so that bad input stops it with one message and nothing
 * half-created: the handshake every service will start with, the images, and the host ports.
 */
import { createServer } from 'node:net';
import { HANDSHAKE_ENV, N3XUS_LAW } from '../../services/_kit/src/law.ts';
import type { PortHolder } from '../drivers/driver.ts';
import type { FleetService } from '../fleet/model.ts';

const listNames = (names: readonly string[], max = 5): string =>
  names.length <= max ? names.map((n) => `"${n}"`).join(', ') : `${names.slice(0, max).map((n) => `"${n}"`).join(', ')} and ${names.length - max} more`;

/** Services would start with a handshake that is not the N3XUS LAW, and would all refuse to (exit 45). */
export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
  readonly code = 'LAW_VIOLATION';
  readonly services: readonly string[];
  readonly suggestions: readonly string[];

  constructor(services: readonly string[], value: string) {
    super(
      `${services.length === 1 ? 'Service' : `${services.length} services:`} ${listNames(services)} would start with ${HANDSHAKE_ENV}=${JSON.stringify(value)}, which is not the N3XUS LAW handshake; ` +
        `each would refuse to start (exit 45). Nothing was created.`,
    );
    this.services = services;
    this.suggestions = [`Unset ${HANDSHAKE_ENV} (the fleet file defaults to the law's value) or set ${HANDSHAKE_ENV}=${N3XUS_LAW}, then launch again.`];
  }
}

/** Images the launch needs are not on the engine. */
export class ImageMissingError extends Error {
  override readonly name = 'ImageMissingError';
  readonly code = 'IMAGE_MISSING';
  readonly images: readonly { image: string; services: string[] }[];
  readonly suggestions: readonly string[];

  constructor(images: readonly { image: string; services: string[] }[]) {
    const first = images[0]!;
    super(
      `${images.length === 1 ? 'Image' : `${images.length} images are missing, among them`} ${first.image} (service ${listNames(first.services, 3)})${images.length === 1 ? ' is' : ''} not on this engine. Nothing was created.`,
    );
    this.images = images;
    this.suggestions = [
      'Build them here without a registry: n3xus images build (or launch with --build).',
      'On an air-gapped site, load an archive made elsewhere: n3xus images load -i fleet-images.tar',
    ];
  }
}

/** A busy host port: the service that wants it, and what holds it when that is known. */
export interface BusyPort {
  port: number;
  service: string;
  /** A Swarm service publishing it on every interface. */
  heldBy?: string;
  /** A container of the engine that publishes it (see FleetDriver.portHolders). */
  container?: PortHolder;
}

const holderText = (p: BusyPort): string => {
  if (p.container?.compose !== undefined) return `held by container ${p.container.container}, service ${p.container.compose.service} of docker compose project "${p.container.compose.project}"`;
  if (p.container !== undefined) return `held by container ${p.container.container}`;
  return p.heldBy === undefined ? '' : `held by ${p.heldBy}`;
};

/** Host ports the fleet publishes are held by something else. */
export class PortBusyError extends Error {
  override readonly name = 'PortBusyError';
  readonly code = 'PORT_BUSY';
  readonly ports: readonly BusyPort[];
  readonly suggestions: readonly string[];

  /** `heldBy` or `container` names the holder when it is known. */
  constructor(ports: readonly BusyPort[]) {
    const shown = ports
      .slice(0, 5)
      .map((p) => `127.0.0.1:${p.port} (service "${p.service}"${holderText(p) === '' ? '' : `, ${holderText(p)}`})`)
      .join(', ');
    const known = ports.every((p) => holderText(p) !== '');
    super(`${ports.length === 1 ? 'Port' : `${ports.length} ports are in use:`} ${shown}${ports.length > 5 ? ` and ${ports.length - 5} more` : ''}${ports.length === 1 && !known ? ' is in use by another program' : ports.length === 1 ? ' is in use' : ''}. Nothing was created.`);
    this.ports = ports;
    const port = ports[0]!.port;
    const swarm = ports.find((p) => p.heldBy !== undefined);
    const compose = [...new Set(ports.flatMap((p) => (p.container?.compose === undefined ? [] : [p.container.compose.project])))];
    const others = [...new Set(ports.flatMap((p) => (p.container !== undefined && p.container.compose === undefined ? [p.container.container] : [])))];
    this.suggestions = [
      ...compose.map(
        (project) =>
          `The fleet runs under docker compose (project "${project}"). Take it over, keeping its data: n3xus launch --adopt (each of its containers is replaced in stage order, the PostgreSQL volume is kept; add --project ${project} when compose was given -p ${project} rather than naming the project after the file's directory). Or stop it with docker-compose -p ${project} -f <its compose file> down (its volumes stay unless you add -v) and launch again; or go on with compose and leave launch out: status and verify recognise compose's containers.`,
      ),
      ...(others.length === 0 ? [] : [`Stop ${others.length === 1 ? 'that container' : 'those containers'} (docker stop ${others.join(' ')}), or publish this fleet's services on other ports in the fleet file.`]),
      ...(swarm === undefined ? [] : [`Remove that service or its published port (docker service update --publish-rm ${swarm.port} <service>), or publish this fleet's service on another port.`]),
      ...(compose.length > 0 || others.length > 0 ? [] : [`See what holds it: ss -ltnp 'sport = :${port}'; stop that program, or publish the service on another port in the fleet file.`]),
    ];
  }
}

/** Services whose environment carries a handshake other than the law's, or undefined when all are right. */
export function wrongHandshakes(services: readonly FleetService[]): HandshakeError | undefined {
  const wrong = services.filter((s) => s.environment[HANDSHAKE_ENV] !== undefined && s.environment[HANDSHAKE_ENV] !== N3XUS_LAW);
  return wrong.length === 0 ? undefined : new HandshakeError(wrong.map((s) => s.name), wrong[0]!.environment[HANDSHAKE_ENV]!);
}

/** The images of `services` that `imageIds` has no ID for, each with the services that need it. */
export function missingImages(services: readonly FleetService[], imageIds: ReadonlyMap<string, string | undefined>): ImageMissingError | undefined {
  const missing = new Map<string, string[]>();
  for (const s of services) if (imageIds.get(s.image) === undefined) missing.set(s.image, [...(missing.get(s.image) ?? []), s.name]);
  return missing.size === 0 ? undefined : new ImageMissingError([...missing].map(([image, names]) => ({ image, services: names })));
}

/** Whether nothing listens on 127.0.0.1:`port` (TCP): tries to listen there and lets go at once. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The TCP host ports of `services` that something holds. */
export async function busyPorts(services: readonly FleetService[], isFree: (port: number) => Promise<boolean> = portFree): Promise<PortBusyError | undefined> {
  const wanted = services.flatMap((s) => s.ports.filter((p) => p.protocol === 'tcp').map((p) => ({ port: p.hostPort, service: s.name })));
  const busy = (await Promise.all(wanted.map(async (w) => ((await isFree(w.port)) ? undefined : w)))).filter((w) => w !== undefined);
  return busy.length === 0 ? undefined : new PortBusyError(busy);
}
