/** Where the Docker engine listens: a Unix socket, or a TCP address (TLS when DOCKER_TLS_VERIFY is set). */
export type EngineEndpoint =
  | { kind: 'socket'; socketPath: string; display: string }
  | { kind: 'tcp'; host: string; port: number; protocol: 'http' | 'https'; certPath: string | undefined; display: string };

/** Ways to choose the engine; with neither set, DOCKER_HOST and then `/var/run/docker.sock` are used. */
export interface EndpointOptions {
  /** A Unix socket path, e.g. `/var/run/docker.sock`. Wins over `dockerHost`. */
  socketPath?: string | undefined;
  /** A DOCKER_HOST-style address: `unix:///path` or `tcp://host:port`. */
  dockerHost?: string | undefined;
}

export const DEFAULT_SOCKET_PATH = '/var/run/docker.sock';

/**
 * Decides which engine endpoint to use: explicit `socketPath`, then explicit `dockerHost`, then `env.DOCKER_HOST`,
 * then {@link DEFAULT_SOCKET_PATH}. Pure: reads only its arguments.
 *
 * @example
 * resolveEndpoint({}, { DOCKER_HOST: 'tcp://127.0.0.1:2375' }); // { kind: 'tcp', host: '127.0.0.1', port: 2375, ... }
 */
export function resolveEndpoint(options: EndpointOptions, env: Readonly<Record<string, string | undefined>>): EngineEndpoint {
  if (options.socketPath !== undefined && options.socketPath !== '') {
    return { kind: 'socket', socketPath: options.socketPath, display: options.socketPath };
  }
  const dockerHost = options.dockerHost ?? (env.DOCKER_HOST === '' ? undefined : env.DOCKER_HOST);
  if (dockerHost === undefined) return { kind: 'socket', socketPath: DEFAULT_SOCKET_PATH, display: DEFAULT_SOCKET_PATH };
  return parseDockerHost(dockerHost, env);
}

function parseDockerHost(dockerHost: string, env: Readonly<Record<string, string | undefined>>): EngineEndpoint {
  if (dockerHost.startsWith('/')) return { kind: 'socket', socketPath: dockerHost, display: dockerHost };
  if (dockerHost.startsWith('unix://')) {
    const socketPath = dockerHost.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw invalid(dockerHost);
    return { kind: 'socket', socketPath, display: socketPath };
  }
  if (dockerHost.startsWith('tcp://')) {
    const tls = env.DOCKER_TLS_VERIFY !== undefined && env.DOCKER_TLS_VERIFY !== '' && env.DOCKER_TLS_VERIFY !== '0';
    let url: URL;
    try {
      url = new URL(`http://${dockerHost.slice('tcp://'.length)}`);
    } catch {
      throw invalid(dockerHost);
    }
    if (url.hostname === '') throw invalid(dockerHost);
    const port = url.port === '' ? (tls ? 2376 : 2375) : Number(url.port);
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    return {
      kind: 'tcp',
      host,
      port,
      protocol: tls ? 'https' : 'http',
      certPath: tls ? (env.DOCKER_CERT_PATH ?? (env.HOME === undefined ? undefined : `${env.HOME}/.docker`)) : undefined,
      display: `tcp://${url.host}`,
    };
  }
  throw invalid(dockerHost);
}

function invalid(dockerHost: string): TypeError {
  return new TypeError(`Expected DOCKER_HOST to be unix:///path/to/docker.sock or tcp://host:port, got \`${dockerHost}\``);
}
