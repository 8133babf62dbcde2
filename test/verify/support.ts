/**
 * Fleets of real servers for verify's tests: a compose file in the n3xus shape whose published ports are those of
 * servers started in the test process (real kit services, PostgreSQL, Redis, and servers that misbehave on
 * purpose), so that `verify -f <file>` checks them exactly as it checks the launched fleet.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import type { Stage } from '../../src/fleet/stages.ts';
import { listen, type RunningServer } from '../support/http-server.ts';

/** One entry of a test fleet file. */
export interface FleetEntry {
  name: string;
  stage: Stage;
  group: string;
  category: string;
  /** The port the test server listens on (published as 127.0.0.1:<port>:<port>). */
  port: number;
  environment?: Record<string, string>;
}

/** Writes a compose file describing `entries` (in this order) and returns its path. */
export async function writeFleetFile(entries: readonly FleetEntry[], project = 'verify-test'): Promise<string> {
  const services = Object.fromEntries(
    entries.map((e) => [
      e.name,
      {
        image: `n3xus/${e.name}:3.0`,
        ports: [`127.0.0.1:${e.port}:${e.port}`],
        ...(e.environment ? { environment: e.environment } : {}),
        labels: { 'n3xus.stage': e.stage, 'n3xus.group': e.group, 'n3xus.category': e.category, 'n3xus.port': String(e.port) },
      },
    ]),
  );
  const dir = await mkdtemp(path.join(os.tmpdir(), 'n3xus-verify-'));
  const file = path.join(dir, 'fleet.yml');
  await writeFile(file, stringify({ name: project, services }));
  return file;
}

/** The port of a `postgres://…` or `redis://…` URL. */
export function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** A plain HTTP server on a free loopback port; `close` also cuts connections still waiting for an answer. */
export function startHttpServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<RunningServer> {
  return listen(createServer(handler));
}

/** Answers 200 with a health-shaped body to every request, handshake or not: a service without the law. */
export function lawlessServer(service: string) {
  return startHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', service }));
  });
}

/** Answers every request after `delayMs`: a service slower than verify's deadline. */
export function slowServer(service: string, delayMs: number) {
  return startHttpServer((_req, res) => {
    const timer = setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', service })), delayMs);
    res.on('close', () => clearTimeout(timer));
  });
}

/** Answers every request with a 200 whose body is not JSON. */
export function malformedServer() {
  return startHttpServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
  });
}
