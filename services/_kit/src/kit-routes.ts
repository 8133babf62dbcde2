/**
 * Paths of the kit's own routes that clients outside a service need (verify), in a module that imports nothing:
 * the CLI loads it without loading express, zod or pg.
 */

/** The protected route that describes a service's resources (see describeResources in resources.ts). */
export const RESOURCES_PATH = '/_n3xus/resources';
