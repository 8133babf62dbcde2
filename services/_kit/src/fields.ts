import { z } from 'zod';

/**
 * The field types most resources are made of, so that a service's app.ts reads as its data model. Each returns a
 * fresh zod schema; chain `.optional()` for a field that may be left out.
 */
export const f = {
  /** A non-empty line of text, trimmed, at most 200 characters (names, ids, references). */
  text: () => z.string().trim().min(1).max(200),
  /** Free text up to 10,000 characters (bodies, descriptions). */
  longText: () => z.string().max(10_000),
  /** A whole number from 0 up (counts, sizes, minor currency units). */
  count: () => z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** Any finite number (scores, measurements, signed amounts). */
  number: () => z.number(),
  flag: () => z.boolean(),
  /** An ISO 8601 date-time with its offset, e.g. `2026-11-27T08:00:00Z`. */
  timestamp: () => z.iso.datetime({ offset: true }),
  /** Up to 100 short texts (tags, members, scopes). */
  list: () => z.array(z.string().trim().min(1).max(200)).max(100),
  /** One of the given values. */
  oneOf: <const T extends readonly [string, ...string[]]>(...values: T) => z.enum(values),
};
