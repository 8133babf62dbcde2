import { mkdtemp, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';

/** The n3xus labels every fleet service needs. */
const LABELS = { 'n3xus.stage': 'core', 'n3xus.group': 'core', 'n3xus.category': 'api', 'n3xus.port': '8080' };

/** One service of a test fleet: the host port it publishes, and optionally its image and environment. */
export interface TestService {
  hostPort: number;
  image?: string;
  environment?: Record<string, string>;
}

/**
 * Writes a compose file in the n3xus shape to a fresh temporary directory: the given services, all on one network
 * named `network` (made unique by the caller), and returns its path.
 */
export async function writeTestFleet(options: { name: string; network: string; services: Record<string, TestService> }): Promise<string> {
  const services = Object.fromEntries(
    Object.entries(options.services).map(([name, s]) => [
      name,
      {
        image: s.image ?? 'n3xus-test/absent:1',
        ports: [`127.0.0.1:${s.hostPort}:8080`],
        ...(s.environment ? { environment: s.environment } : {}),
        networks: ['net'],
        labels: LABELS,
      },
    ]),
  );
  const dir = await mkdtemp(path.join(os.tmpdir(), 'n3xus-bootstrap-'));
  const file = path.join(dir, 'compose.yml');
  await writeFile(file, stringify({ name: options.name, services, networks: { net: { name: options.network } } }));
  return file;
}

/** A TCP server listening on an ephemeral port of 127.0.0.1; close it when done. */
export async function listenOnEphemeralPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, resolve);
  });
  const port = (server.address() as net.AddressInfo).port;
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** An ephemeral port that was free a moment ago (bound on 127.0.0.1:0, then released). */
export async function freePort(): Promise<number> {
  const { port, close } = await listenOnEphemeralPort();
  await close();
  return port;
}
