import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { f } from '../../services/_kit/src/fields.ts';
import { describeResources } from '../../services/_kit/src/resources.ts';
import type { ServiceDefinition } from '../../services/_kit/src/service.ts';
import {
  buildRecord,
  describeAnswer,
  firstDifference,
  isLeftover,
  isLeftoverAttestation,
  isLeftoverDid,
  LEFTOVER_MIN_AGE_MS,
  markerField,
  markerOf,
  pickResource,
  verifyClaim,
  VERIFY_DID_CONTROLLER,
  VERIFY_SUBJECT,
  type JsonSchema,
} from '../../src/verify/functional.ts';

const MARKER = markerOf('0123456789abcdef');
const schemaOf = (shape: z.ZodRawShape): JsonSchema => describeResources({ r: shape })[0]!.schema;

describe('a record built from a resource JSON Schema', () => {
  it('fills every field of the kit types, optional ones too, within their bounds, and marks the first free-text field', () => {
    const shape = {
      status: f.oneOf('open', 'closed'),
      title: f.text(),
      body: f.longText().optional(),
      count: f.count(),
      score: f.number(),
      active: f.flag(),
      at: f.timestamp(),
      tags: f.list(),
    };
    const record = buildRecord(schemaOf(shape), MARKER)!;
    expect(record).toEqual({ status: 'open', title: MARKER, body: 'n3xus verify', count: 7, score: 7.5, active: true, at: '2026-01-01T00:00:00.000Z', tags: ['n3xus verify'] });
    // What the service itself accepts: the kit parses a POST body with the strict shape.
    expect(z.object(shape).strict().parse(record)).toEqual(record);
  });

  it('honours lengths, bounds (exclusive ones too) and item counts', () => {
    const schema = schemaOf({
      name: z.string().max(40),
      code: z.string().min(20).max(30),
      short: z.string().max(5),
      small: z.number().int().min(10).max(12),
      below: z.number().int().lt(3),
      ratio: z.number().gt(0).lt(1),
      pair: z.array(z.number().int().min(100)).min(2).max(3),
      none: z.array(z.string()).max(0),
    });
    const record = buildRecord(schema, MARKER)!;
    expect(record).toMatchObject({ name: MARKER, short: 'n3xus', small: 10, below: 2, pair: [100, 100], none: [] });
    expect((record.code as string).length).toBe(20);
    expect(record.ratio).toBeGreaterThan(0);
    expect(record.ratio).toBeLessThan(1);
  });

  it('builds nothing when the schema asks for what it cannot make: the resource is then not exercised', () => {
    expect(buildRecord(schemaOf({ name: f.text(), code: z.string().regex(/^[A-Z]{3}$/) }), MARKER)).toBeUndefined();
    expect(buildRecord(schemaOf({ name: f.text(), n: z.number().int().min(5).max(4) }), MARKER)).toBeUndefined();
    expect(buildRecord(schemaOf({ kind: f.oneOf('a', 'b'), at: f.timestamp() }), MARKER)).toBeUndefined();
  });

  it('marks the first free-text field that can hold the marker: not an enum, a format, nor one too short', () => {
    expect(markerField(schemaOf({ kind: f.oneOf('a'), at: f.timestamp(), code: z.string().max(10), note: f.longText(), title: f.text() }))).toBe('note');
    expect(markerField(schemaOf({ count: f.count() }))).toBeUndefined();
  });

  it('picks the first resource a record can be written to', () => {
    const resources = describeResources({ counters: { n: f.count() }, notes: { text: f.text() }, later: { name: f.text() } });
    expect(pickResource(resources)).toMatchObject({ resource: { name: 'notes', path: '/v1/notes' }, field: 'text' });
    expect(pickResource(describeResources({ counters: { n: f.count() } }))).toBeUndefined();
  });

  it('for every service of the fleet with resources, builds a record that the service itself accepts', async () => {
    const servicesDir = path.join(import.meta.dirname, '../../services');
    const names = (await readdir(servicesDir, { withFileTypes: true })).filter((e) => e.isDirectory() && e.name !== '_kit').map((e) => e.name).sort();
    let exercised = 0;
    for (const name of names) {
      const definition = ((await import(path.join(servicesDir, name, 'app.ts'))) as { default: ServiceDefinition }).default;
      const resources = definition.resources ?? {};
      if (Object.keys(resources).length === 0) continue;
      const picked = pickResource(describeResources(resources));
      expect(picked, name).toBeDefined();
      const record = buildRecord(picked!.resource.schema, MARKER)!;
      const shape = resources[picked!.resource.name]!;
      const strict = (shape instanceof z.ZodObject ? shape : z.object(shape)).strict();
      expect(strict.safeParse(record).success, `${name} ${picked!.resource.path}`).toBe(true);
      exercised += 1;
    }
    expect(exercised).toBe(names.length - 7); // all but the seven special services
  });
});

describe('comparing what was read with what was written', () => {
  const sent = { title: MARKER, count: 7, tags: ['a', 'b'], meta: { x: 1, y: [true] } };

  it('finds nothing different in the same record, with the kit fields added and keys in another order', () => {
    expect(firstDifference(sent, { id: 'x', createdAt: 't', meta: { y: [true], x: 1 }, tags: ['a', 'b'], count: 7, title: MARKER })).toBeUndefined();
  });

  it('names the first field that differs, a missing one, and a body that is no record', () => {
    expect(firstDifference(sent, { ...sent, count: 8, tags: ['b', 'a'] })).toEqual({ field: 'count', sent: 7, got: 8 });
    expect(firstDifference(sent, { ...sent, tags: ['a'] })).toEqual({ field: 'tags', sent: ['a', 'b'], got: ['a'] });
    expect(firstDifference(sent, { title: MARKER, count: 7, tags: ['a', 'b'] })).toEqual({ field: 'meta', sent: sent.meta, got: undefined });
    expect(firstDifference(sent, { ...sent, count: '7' })?.field).toBe('count');
    expect(firstDifference(sent, [sent])?.field).toBe('(the record)');
  });
});

describe("an interrupted run's leftovers", () => {
  const schema = schemaOf({ title: f.text(), count: f.count(), note: f.longText().optional() });
  const created = '2026-12-04T20:00:00.000Z';
  const leftover = { ...buildRecord(schema, markerOf('fedcba9876543210'))!, id: 'a', createdAt: created, updatedAt: created };
  const NOW = Date.parse(created) + LEFTOVER_MIN_AGE_MS;

  it("are exactly verify's record of another run", () => {
    expect(isLeftover(leftover, schema, MARKER, NOW)).toBe(true);
  });

  it('spare a record younger than the minimum age, which a verify running at the same time may still be using', () => {
    expect(isLeftover(leftover, schema, MARKER, NOW - 1)).toBe(false);
    expect(isLeftover(leftover, schema, MARKER, Date.parse(created))).toBe(false);
    expect(isLeftover({ ...leftover, createdAt: 'not a time' }, schema, MARKER, NOW)).toBe(false);
    expect(isLeftover({ ...leftover, createdAt: undefined }, schema, MARKER, NOW)).toBe(false);
  });

  it("never include this run's own record, nor a user's record that resembles one", () => {
    expect(isLeftover({ ...buildRecord(schema, MARKER)!, id: 'b' }, schema, MARKER, NOW)).toBe(false);
    expect(isLeftover({ ...leftover, count: 8 }, schema, MARKER, NOW)).toBe(false);
    expect(isLeftover({ ...leftover, note: 'my own note' }, schema, MARKER, NOW)).toBe(false);
    expect(isLeftover({ ...leftover, title: 'n3xus-verify:fedcba9876543210 and more' }, schema, MARKER, NOW)).toBe(false);
    expect(isLeftover({ ...leftover, title: 'n3xus-verify:not-a-run-id' }, schema, MARKER, NOW)).toBe(false);
    expect(isLeftover({ ...leftover, extra: 1 }, schema, MARKER, NOW)).toBe(false);
    expect(isLeftover('n3xus-verify:fedcba9876543210', schema, MARKER, NOW)).toBe(false);
  });
});

describe("an interrupted run's DIDs and attestations", () => {
  const created = '2026-12-04T20:00:00.000Z';
  const NOW = Date.parse(created) + LEFTOVER_MIN_AGE_MS;
  const did = { didDocument: { id: 'did:n3xus:abc', controller: VERIFY_DID_CONTROLLER, verificationMethod: [] }, didDocumentMetadata: { created } };
  const other = markerOf('fedcba9876543210');
  const attestation = { id: 'a', payload: { subject: VERIFY_SUBJECT, claim: verifyClaim(other) }, createdAt: created };

  it("are verify's own, old enough", () => {
    expect(isLeftoverDid(did, NOW)).toBe(true);
    expect(isLeftoverAttestation(attestation, MARKER, NOW)).toBe(true);
  });

  it('spare what is younger than the minimum age, or has no readable time', () => {
    expect(isLeftoverDid(did, NOW - 1)).toBe(false);
    expect(isLeftoverDid({ ...did, didDocumentMetadata: {} }, NOW)).toBe(false);
    expect(isLeftoverAttestation(attestation, MARKER, NOW - 1)).toBe(false);
    expect(isLeftoverAttestation({ ...attestation, createdAt: 'soon' }, MARKER, NOW)).toBe(false);
  });

  it("spare this run's own, and what a user made that resembles verify's", () => {
    expect(isLeftoverDid({ ...did, didDocument: { ...did.didDocument, controller: 'did:web:example.com' } }, NOW)).toBe(false);
    expect(isLeftoverDid({ ...did, didDocument: { ...did.didDocument, verificationMethod: [{ id: 'k' }] } }, NOW)).toBe(false);
    expect(isLeftoverDid({ didDocument: did.didDocument }, NOW)).toBe(false);
    expect(isLeftoverDid('did:n3xus:abc', NOW)).toBe(false);
    expect(isLeftoverAttestation({ ...attestation, payload: { subject: VERIFY_SUBJECT, claim: verifyClaim(MARKER) } }, MARKER, NOW)).toBe(false);
    expect(isLeftoverAttestation({ ...attestation, payload: { subject: 'tx-1', claim: verifyClaim(other) } }, MARKER, NOW)).toBe(false);
    expect(isLeftoverAttestation({ ...attestation, payload: { subject: VERIFY_SUBJECT, claim: { ...verifyClaim(other), mine: true } } }, MARKER, NOW)).toBe(false);
    expect(isLeftoverAttestation({ ...attestation, payload: { subject: VERIFY_SUBJECT, claim: { verify: 'n3xus-verify:not-a-run' } } }, MARKER, NOW)).toBe(false);
    expect(isLeftoverAttestation({ id: 'a', createdAt: created }, MARKER, NOW)).toBe(false);
  });
});

describe('how a step failure words the answer', () => {
  it("gives the status, the kit's error code and its message, or why nothing answered", () => {
    const body = JSON.stringify({ error: { code: 'NOT_READY', message: 'The service schema is not migrated yet.' } });
    expect(describeAnswer({ status: 503, headers: {}, body, durationMs: 1 })).toBe('answered 503 NOT_READY: The service schema is not migrated yet');
    expect(describeAnswer({ status: 500, headers: {}, body: 'oops', durationMs: 1 })).toBe('answered 500');
    expect(describeAnswer({ kind: 'refused', message: 'connection refused', durationMs: 1 })).toBe('connection refused');
  });

  it('refuses a run id that would not be recognised as a marker', () => {
    expect(() => markerOf('xyz')).toThrow(/16 hex digits/);
  });
});
