/**
 * Paths of the kit's own routes that clients outside a service need (verify), in a module that imports nothing:
 * the CLI loads it without loading express, zod or pg.
 */

/** The protected route that describes a service's resources (see describeResources in resources.ts). */
export const RESOURCES_PATH = '/_n3xus/resources';

/** Where the kit's own protected routes live (behind the law guard, like every route but health and readiness). */
export const KIT_PATH = '/_n3xus';
/** Answers `{service}`: the cheap protected route a peer's call is made to, and the law's near misses are sent to. */
export const PING_PATH = `${KIT_PATH}/ping`;
/** `GET` it for every declared peer, `GET <it>/<peer>` for one. */
export const CALLS_PATH = `${KIT_PATH}/calls`;
/** How a call report's `error` starts when the peer did not answer in time (a client may ask about it again). */
export const CALL_TIMEOUT_ERROR = 'no answer in time';
