/** The Docker engine did not answer at its endpoint (socket missing, connection refused, permission denied). */
export class EngineUnreachableError extends Error {
  override readonly name = 'EngineUnreachableError';
  readonly code = 'ENGINE_UNREACHABLE';
  /** Where the engine was looked for, e.g. `/var/run/docker.sock` or `tcp://127.0.0.1:2375`. */
  readonly endpoint: string;
  readonly suggestions: readonly string[];

  constructor(endpoint: string, reason: string, options?: { cause?: unknown }) {
    super(`Docker engine not reachable at ${endpoint}: ${reason}. Start it (dockerd) or set DOCKER_HOST`, options);
    this.endpoint = endpoint;
    this.suggestions = [
      'Start the engine: nohup dockerd >/tmp/dockerd.log 2>&1 &',
      'Or point DOCKER_HOST at a running engine, e.g. DOCKER_HOST=unix:///run/user/1000/docker.sock',
    ];
  }
}

/** A `docker build` step failed; carries the daemon's message and the end of the build output. */
export class ImageBuildError extends Error {
  override readonly name = 'ImageBuildError';
  readonly code = 'IMAGE_BUILD_FAILED';
  readonly tag: string;
  /** The daemon's error message, e.g. `The command '/bin/sh -c exit 3' returned a non-zero code: 3`. */
  readonly detail: string;
  /** The last lines of build output before the failure (about 20), oldest first. */
  readonly outputTail: readonly string[];

  constructor(tag: string, detail: string, outputTail: readonly string[], options?: { cause?: unknown }) {
    const tail = outputTail.length === 0 ? '' : `\n--- last ${outputTail.length} lines of build output ---\n${outputTail.join('\n')}`;
    super(`Building image ${tag} failed: ${detail}${tail}`, options);
    this.tag = tag;
    this.detail = detail;
    this.outputTail = outputTail;
  }
}

/** The engine answered an API call with an error (for example 404 no such container, 409 conflict). */
export class DockerApiError extends Error {
  override readonly name = 'DockerApiError';
  readonly code = 'DOCKER_API_ERROR';
  /** What was being done, e.g. `inspect image n3xus/node:24`. */
  readonly operation: string;
  /** The HTTP status the engine answered with, when it answered. */
  readonly statusCode: number | undefined;

  constructor(operation: string, reason: string, statusCode: number | undefined, options?: { cause?: unknown }) {
    super(`Docker ${operation} failed: ${reason}`, options);
    this.operation = operation;
    this.statusCode = statusCode;
  }
}
