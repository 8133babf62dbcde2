import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The N3XUS LAW 55-45-17: the handshake every build, process and protected request must present. */
export const N3XUS_LAW = '55-45-17';

/** The request header that carries the handshake (HTTP header names are case-insensitive). */
export const HANDSHAKE_HEADER = 'x-n3xus-handshake';

/** The environment variable (and Docker build argument) that carries the handshake. */
export const HANDSHAKE_ENV = 'N3XUS_HANDSHAKE';

/**
 * Exit code of a service that refuses to start because its environment's handshake is missing or wrong.
 * Orchestrators read it as a law violation: restarting such a container cannot help.
 */
export const LAW_EXIT_CODE = 45;

/** Longest header value that is even compared; anything longer is rejected unread. */
export const MAX_HANDSHAKE_LENGTH = 64;

/** Where the 451 response's `Link: <…>; rel="blocked-by"` (RFC 7725) points: a description of the law. */
export const LAW_LINK_PATH = '/.well-known/n3xus-law';

const expectedDigest = createHash('sha256').update(N3XUS_LAW).digest();

/** Why a handshake was refused; `undefined` when it is valid. */
export type HandshakeFault = 'missing' | 'repeated' | 'too-long' | 'mismatch';

/**
 * Checks one handshake value in constant time: both sides are hashed first, so neither the comparison nor its
 * duration depends on where the values differ or on the length of what was sent.
 */
export function handshakeFault(value: unknown): HandshakeFault | undefined {
  if (value === undefined || value === null || value === '') return 'missing';
  if (Array.isArray(value)) return 'repeated';
  if (typeof value !== 'string') return 'mismatch';
  if (value.length > MAX_HANDSHAKE_LENGTH) return 'too-long';
  const digest = createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest, expectedDigest) ? undefined : 'mismatch';
}

/**
 * Checks a request's handshake header. Node joins repeated unknown headers into one value, so the raw header
 * list is counted: a request that sends the header twice is refused even when both copies are right.
 */
export function requestHandshakeFault(headers: IncomingHttpHeaders, rawHeaders: string[]): HandshakeFault | undefined {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === HANDSHAKE_HEADER) count += 1;
  }
  if (count > 1) return 'repeated';
  return handshakeFault(headers[HANDSHAKE_HEADER]);
}

/** The JSON body of a 451 answer. It names the rule that was broken and nothing else: never the expected value. */
export const LAW_REFUSAL_BODY = Object.freeze({
  error: Object.freeze({
    code: 'N3XUS_LAW',
    message: 'Unavailable For Legal Reasons: this request does not carry a valid X-N3XUS-Handshake header.',
  }),
});

/** Headers of a 451 answer: RFC 7725's blocked-by link, and no caching of the refusal. */
export const LAW_REFUSAL_HEADERS = Object.freeze({
  Link: `<${LAW_LINK_PATH}>; rel="blocked-by"`,
  'Cache-Control': 'no-store',
});

/** The shell script that enforces the law at build time, from the same constant (written into the runtime layer). */
export function buildTimeLawCheckScript(): string {
  return [
    '#!/bin/sh',
    '# N3XUS LAW 55-45-17, build-time layer: refuse to build an image without the right handshake.',
    '# Generated from services/_kit/src/law.ts; do not edit.',
    `if [ -z "\${${HANDSHAKE_ENV}:-}" ]; then`,
    `  echo "N3XUS LAW violation: build argument ${HANDSHAKE_ENV} is missing. Pass --build-arg ${HANDSHAKE_ENV}=<handshake>." >&2`,
    `  exit ${LAW_EXIT_CODE}`,
    'fi',
    `if [ "\${${HANDSHAKE_ENV}}" != "${N3XUS_LAW}" ]; then`,
    `  echo "N3XUS LAW violation: build argument ${HANDSHAKE_ENV} is wrong. Set it to the fleet's handshake." >&2`,
    `  exit ${LAW_EXIT_CODE}`,
    'fi',
    '',
  ].join('\n');
}
