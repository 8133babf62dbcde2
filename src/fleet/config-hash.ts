/**
 * The config hash of a service: what launch compares to decide a recreate. A module of its own so that launch
 * planning does not load the fleet parser (yaml and zod) to compute it.
 */
import { createHash } from 'node:crypto';
import type { FleetService } from './model.ts';

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Serialises with object keys sorted and undefined left out, so equal definitions give equal text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (isMapping(value)) {
    const entries = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The sha256 (hex) of a service's canonical definition, to be stored as a container label and compared on the
 * next launch: a different hash means the container must be recreated. Map key order does not matter; list order
 * does (it matters to a command).
 *
 * Left out, as compose's `ServiceHash` leaves them out, are the fields that do not shape the container:
 * `build` (how the image is made; a rebuilt image is caught by comparing image IDs, and a changed build section
 * that yields the same image must not recreate anything) and `dependsOn` (names and conditions decide the order
 * and the waiting at start-up, not the container; changing who waits for whom must not restart a running fleet).
 */
export function configHash(service: FleetService): string {
  const { build: _build, dependsOn: _dependsOn, ...shaping } = service;
  return createHash('sha256').update(canonicalJson(shaping)).digest('hex');
}
