/**
 * The loopback gateway of a Swarm fleet: one plain container on the fleet's overlay network that publishes every
 * service's port on 127.0.0.1 only, and forwards each connection to the service by its name inside the network.
 *
 * Why: Swarm cannot publish a port on one host address. A host-mode port binds every interface, and the ingress
 * mesh binds every interface too (and did not answer on 127.0.0.1 here). With the gateway nothing of the fleet is
 * reachable from outside this machine unless the user publishes it, while launch, status, verify and the user's own
 * tools reach each service at the same 127.0.0.1 port as with the Docker driver. Each connection looks the service's
 * name up again, and Swarm's DNS round robin spreads the connections over its replicas.
 */
import { createHash } from 'node:crypto';
import type { ContainerSpec } from '../../docker/types.ts';
import { STATE_LABELS } from '../../launch/labels.ts';

/** Labels of the gateway container (besides the project's). */
export const GATEWAY_LABELS = {
  /** `loopback-gateway`: what the container is, so it is never taken for a service. */
  role: 'n3xus.role',
  /** sha256 of what it forwards and the image it runs: a change recreates it. */
  configHash: 'n3xus.config-hash',
} as const;

export const GATEWAY_ROLE = 'loopback-gateway';

/** One forwarded port: 127.0.0.1:`hostPort` on the host to `target`:`port` inside the network. */
export interface GatewayRoute {
  hostPort: number;
  target: string;
  port: number;
}

/**
 * The forwarder the container runs (with `node -e`), one listener per route given as `hostPort=target:port`
 * arguments. A connection whose target does not answer is closed, which a client reads as "not up yet".
 */
export const GATEWAY_SCRIPT = [
  "const net = require('node:net');",
  'for (const route of process.argv.slice(1)) {',
  "  const [listen, target] = route.split('=');",
  "  const colon = target.lastIndexOf(':');",
  '  const host = target.slice(0, colon);',
  '  const port = Number(target.slice(colon + 1));',
  '  net.createServer((client) => {',
  '    const upstream = net.connect({ host, port });',
  '    const close = () => { client.destroy(); upstream.destroy(); };',
  "    client.on('error', close);",
  "    upstream.on('error', close);",
  '    client.pipe(upstream).pipe(client);',
  "  }).listen(Number(listen), '0.0.0.0');",
  '}',
  "process.on('SIGTERM', () => process.exit(0));",
].join('\n');

/** The gateway's container name in a project. */
export function gatewayName(project: string): string {
  return `${project}_loopback-gateway`;
}

/**
 * The gateway's container spec: `image` must hold `node` (any of the fleet's service images does), `networks` are
 * the overlay networks it joins (never an internal one: see reachNetworks); it finds each target by name on them.
 */
export function gatewaySpec(project: string, image: string, imageId: string, networks: readonly string[], routes: readonly GatewayRoute[]): ContainerSpec {
  const args = [...routes].sort((a, b) => a.hostPort - b.hostPort).map((r) => `${r.hostPort}=${r.target}:${r.port}`);
  const hash = createHash('sha256').update(JSON.stringify({ imageId, networks, args, script: GATEWAY_SCRIPT })).digest('hex');
  return {
    name: gatewayName(project),
    image,
    entrypoint: ['node', '-e', GATEWAY_SCRIPT],
    cmd: args,
    env: {},
    labels: { [STATE_LABELS.project]: project, [GATEWAY_LABELS.role]: GATEWAY_ROLE, [GATEWAY_LABELS.configHash]: hash, [STATE_LABELS.driver]: 'swarm' },
    user: '1000:1000',
    publish: routes.map((r) => ({ containerPort: r.hostPort, hostPort: r.hostPort, protocol: 'tcp' as const })),
    network: networks[0],
    ...(networks.length > 1 ? { extraNetworks: networks.slice(1) } : {}),
    healthcheck: { test: ['NONE'], intervalMs: 0 },
    restartPolicy: { name: 'unless-stopped' },
    memoryBytes: 64 * 1024 * 1024,
    readOnlyRootfs: true,
    capDrop: ['ALL'],
    securityOpt: ['no-new-privileges:true'],
  };
}
