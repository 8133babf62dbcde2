import { lawful } from './service.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers are inspected field by field
export type Json = any;

/** One request to a test service (lawful by default); a JSON answer is parsed, any other is text, none is undefined. */
export async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = lawful) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  const json = res.headers.get('content-type')?.includes('json');
  return { status: res.status, headers: res.headers, body: (text === '' ? undefined : json ? JSON.parse(text) : text) as Json };
}

/**
 * An independent JCS (RFC 8785) implementation, so that tests check signatures and hash chains without the
 * services' own code.
 */
export const referenceCanonicalJson = (v: unknown): string =>
  v === null || typeof v !== 'object'
    ? JSON.stringify(v)
    : Array.isArray(v)
      ? `[${v.map(referenceCanonicalJson).join(',')}]`
      : `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${referenceCanonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
