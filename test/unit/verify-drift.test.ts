/**
 * Drift and foreign containers, without an engine: the comparison of a container with what launch would create
 * (src/verify/drift.ts), its folding into the `container` check, and what observeContainers asks the engine for.
 */
import { describe, expect, it } from 'vitest';
import type { Instance } from '../../src/drivers/driver.ts';
import { instanceConfigHash } from '../../src/launch/desired.ts';
import { driftOf } from '../../src/launch/reconcile.ts';
import { composeProjectOf } from '../../src/fleet/project-name.ts';
import { observeContainers, type InstanceSource } from '../../src/verify/containers.ts';
import { compareInstance, withDrift, type Expected } from '../../src/verify/drift.ts';
import { judgeContainer } from '../../src/verify/judge.ts';
import { renderSummary } from '../../src/verify/summary.ts';
import type { VerifyReport } from '../../src/verify/types.ts';

const HASH = 'a'.repeat(64);
const OTHER_HASH = 'b'.repeat(64);
const IMAGE_ID = `sha256:${'1'.repeat(64)}`;
const NEW_IMAGE_ID = `sha256:${'2'.repeat(64)}`;
const expected: Expected = { name: 'v-supercore', image: 'n3xus/v-supercore:3.0', configHash: HASH };
const ids = (entries: Array<[string, string | undefined]>) => ({ ids: new Map(entries) });
const current = ids([['n3xus/v-supercore:3.0', IMAGE_ID]]);

function instance(labels: Record<string, string>, fields: Partial<Instance> = {}): Instance {
  return {
    id: 'c1',
    name: 'n3xus-v-supercore',
    image: 'n3xus/v-supercore:3.0',
    imageId: IMAGE_ID,
    labels,
    status: 'running',
    running: true,
    exitCode: 0,
    health: 'healthy',
    lastHealthOutput: undefined,
    ports: {},
    ...fields,
  };
}

const launched = (extra: Record<string, string> = {}) => instance({ 'n3xus.project': 'n3xus', 'n3xus.service': 'v-supercore', 'n3xus.config-hash': HASH, ...extra });
const composed = (fields: Partial<Instance> = {}) =>
  instance({ 'com.docker.compose.project': 'plain', 'com.docker.compose.service': 'v-supercore', 'com.docker.compose.config-hash': 'c0ffee' }, { name: 'plain_v-supercore_1', ...fields });

describe('compareInstance: is the container the one launch would create?', () => {
  it('finds nothing on a container launched from the fleet file as it is', () => {
    expect(compareInstance(expected, launched(), current)).toEqual({ container: 'n3xus-v-supercore', differences: [], notes: [], details: {} });
  });

  it('a container without the config hash label was not created by n3xus launch', () => {
    const finding = compareInstance(expected, instance({ 'n3xus.project': 'n3xus', 'n3xus.service': 'v-supercore' }), current);
    expect(finding.differences).toEqual(['it has no n3xus.config-hash label: it was not created by n3xus launch']);
    expect(finding.details).toEqual({ configHash: { container: null, fleet: HASH } });
  });

  it('another config hash: the configuration changed since launch, both hashes shown', () => {
    const finding = compareInstance(expected, launched({ 'n3xus.config-hash': OTHER_HASH }), current);
    expect(finding.differences).toEqual([`its n3xus.config-hash ${'b'.repeat(12)} is not the fleet file's ${'a'.repeat(12)}: its configuration changed since launch`]);
  });

  it('a service launched with several copies is compared with the hash launch gives that count, as status does', () => {
    const three = launched({ 'n3xus.replicas': '3', 'n3xus.config-hash': instanceConfigHash(HASH, 3) });
    expect(compareInstance(expected, three, current).differences).toEqual([]);
    expect(compareInstance(expected, launched({ 'n3xus.replicas': '3' }), current).differences).toHaveLength(1);
  });

  it('the tag now resolves to another image: both IDs named, in short and in full', () => {
    const finding = compareInstance(expected, launched(), ids([['n3xus/v-supercore:3.0', NEW_IMAGE_ID]]));
    expect(finding.differences).toEqual([`it runs image sha256:${'1'.repeat(12)}, and n3xus/v-supercore:3.0 now resolves to sha256:${'2'.repeat(12)}`]);
    expect(finding.details).toEqual({ image: { reference: 'n3xus/v-supercore:3.0', container: IMAGE_ID, fleet: NEW_IMAGE_ID } });
  });

  it('says both when both differ, the config first, as launch decides', () => {
    expect(compareInstance(expected, launched({ 'n3xus.config-hash': OTHER_HASH }), ids([['n3xus/v-supercore:3.0', NEW_IMAGE_ID]])).differences).toHaveLength(2);
  });

  it('does not compare the image when it cannot: no image lookup (process driver, inside the network), an unknown ID, a tag gone, an engine error', () => {
    const moved = ids([['n3xus/v-supercore:3.0', NEW_IMAGE_ID]]);
    expect(compareInstance(expected, launched(), undefined)).toMatchObject({ differences: [], notes: [] });
    expect(compareInstance(expected, launched(), moved).differences).toHaveLength(1);
    expect(compareInstance(expected, instance(launched().labels, { imageId: '' }), moved)).toMatchObject({ differences: [], notes: [] });
    expect(compareInstance(expected, launched(), ids([['n3xus/v-supercore:3.0', undefined]]))).toMatchObject({ differences: [], notes: ['image not compared: n3xus/v-supercore:3.0 is not on the engine'] });
    expect(compareInstance(expected, launched(), { error: 'boom' })).toMatchObject({ differences: [], notes: ['image not compared: boom'] });
  });

  it('recognises a container made by docker compose: a note that its configuration is not compared, and its image still is', () => {
    const finding = compareInstance(expected, composed(), current);
    expect(finding).toMatchObject({ composeProject: 'plain', differences: [] });
    expect(finding.notes).toEqual(['not launched by n3xus: made by docker compose, which keeps no n3xus config hash, so its configuration is not compared with the fleet file']);
    expect(compareInstance(expected, composed(), ids([['n3xus/v-supercore:3.0', NEW_IMAGE_ID]])).differences).toHaveLength(1);
  });

  it('judges the config hash as launch does (driftOf) for what n3xus made', () => {
    for (const labels of [{}, { 'n3xus.config-hash': HASH }, { 'n3xus.config-hash': OTHER_HASH }] as Array<Record<string, string>>) {
      const have = instance({ 'n3xus.service': 'v-supercore', ...labels });
      expect(compareInstance(expected, have, undefined).differences.length > 0).toBe(driftOf({ configHash: HASH, imageId: '' }, have) !== undefined);
    }
  });
});

describe('withDrift: the container check with the comparison folded in', () => {
  it('fails a running, healthy container that is not what launch would create, saying what differs and that launch would recreate it', () => {
    const have = instance({ 'n3xus.project': 'n3xus', 'n3xus.service': 'v-supercore' });
    const check = withDrift(judgeContainer(have, 'v-supercore', 'n3xus'), compareInstance(expected, have, current));
    expect(check).toMatchObject({ name: 'container', status: 'fail', code: 'container-drift', details: { launchedBy: 'n3xus', drift: { configHash: { container: null } } } });
    expect(check.message).toBe(
      'container n3xus-v-supercore is not the one n3xus launch would create: it has no n3xus.config-hash label: it was not created by n3xus launch; `n3xus launch` would recreate it',
    );
  });

  it('leaves a container that is what launch would create as it was judged', () => {
    const judged = judgeContainer(launched(), 'v-supercore', 'n3xus');
    const check = withDrift(judged, compareInstance(expected, launched(), current));
    expect(check).toEqual({ ...judged, details: { ...judged.details, launchedBy: 'n3xus' } });
    expect(withDrift(judged, undefined)).toBe(judged);
  });

  it('a container already failing keeps its own reason; the difference rides along as a warning', () => {
    const stopped = launched({ 'n3xus.config-hash': OTHER_HASH });
    const down = { ...stopped, status: 'exited', running: false, exitCode: 1 };
    const check = withDrift(judgeContainer(down, 'v-supercore', 'n3xus'), compareInstance(expected, down, current));
    expect(check).toMatchObject({ status: 'fail', code: 'container-not-running' });
    expect(check.warnings).toEqual([expect.stringMatching(/^not what launch would create: its n3xus.config-hash \w+ is not the fleet file's/)]);
  });

  it('passes a compose-made container that runs, saying it was not launched by n3xus, with a warning; its stale image fails, naming compose as the fix', () => {
    const check = withDrift(judgeContainer(composed(), 'v-supercore', 'plain'), compareInstance(expected, composed(), current));
    expect(check).toMatchObject({ status: 'pass', message: 'running, health healthy; not launched by n3xus (docker compose project plain)', details: { launchedBy: 'docker compose', composeProject: 'plain' } });
    expect(check.warnings).toHaveLength(1);
    const stale = withDrift(judgeContainer(composed(), 'v-supercore', 'plain'), compareInstance(expected, composed(), ids([['n3xus/v-supercore:3.0', NEW_IMAGE_ID]])));
    expect(stale).toMatchObject({ status: 'fail', code: 'container-drift' });
    expect(stale.message).toMatch(/^container plain_v-supercore_1 \(made by docker compose, not launched by n3xus\) is not what the fleet file describes: it runs image .*; `docker-compose up -d` would recreate it$/);
  });
});

describe('observeContainers: what the engine is asked', () => {
  const fleet: Expected[] = [expected, { name: 'audit-trail', image: 'n3xus/audit-trail:3.0', configHash: HASH }, { name: 'postgres', image: 'n3xus/postgres:15', configHash: HASH }];
  const of = (name: string, image: string, imageId: string) => ({ ...launched({ 'n3xus.service': name }), id: name, name: `n3xus-${name}`, image, imageId });

  function source(listed: Instance[], compose: Instance[]) {
    const calls = { list: 0, compose: 0, images: [] as string[][] };
    const given: InstanceSource = {
      kind: 'docker',
      where: 'a fake engine',
      list: async () => (calls.list++, listed),
      listCompose: async () => (calls.compose++, compose),
      resolveImages: async (images) => (calls.images.push([...images]), new Map(images.map((i) => [i, i === 'n3xus/postgres:15' ? NEW_IMAGE_ID : IMAGE_ID]))),
    };
    return { given, calls };
  }

  it('a launched fleet: one list, one lookup per distinct image, no compose list; the rebuilt image is found', async () => {
    const { given, calls } = source([of('v-supercore', 'n3xus/v-supercore:3.0', IMAGE_ID), of('audit-trail', 'n3xus/audit-trail:3.0', IMAGE_ID), of('postgres', 'n3xus/postgres:15', IMAGE_ID)], []);
    const state = await observeContainers('auto', 'n3xus', 1_000, '127.0.0.1', given, [...fleet, { ...expected, name: 'v-supercore' }]);
    expect(calls).toEqual({ list: 1, compose: 0, images: [['n3xus/v-supercore:3.0', 'n3xus/audit-trail:3.0', 'n3xus/postgres:15']] });
    expect(state.docker).toEqual({ used: true, project: 'n3xus', containers: 3 });
    expect([...state.drift].filter(([, f]) => f.differences.length > 0).map(([name]) => name)).toEqual(['postgres']);
  });

  it('a fleet made by docker compose: recognised by a second list, counted, and compared', async () => {
    const byCompose = composed({ id: 'x' });
    const { given, calls } = source([], [byCompose, composed({ id: 'run', labels: { ...byCompose.labels, 'com.docker.compose.oneoff': 'True' } })]);
    const state = await observeContainers('auto', 'plain', 1_000, '127.0.0.1', given, fleet);
    expect(calls).toMatchObject({ list: 1, compose: 1 });
    expect(state.docker).toEqual({ used: true, project: 'plain', containers: 1, compose: 1 });
    expect(state.byService.get('v-supercore')?.name).toBe('plain_v-supercore_1');
    expect(state.drift.get('v-supercore')).toMatchObject({ composeProject: 'plain', differences: [] });
  });

  it("a fleet plain docker-compose started without a project name: found under its directory's name, and the report says which", async () => {
    const byCompose = composed({ id: 'x', labels: { ...composed().labels, 'com.docker.compose.project': 'compose' } });
    const asked: string[] = [];
    const given: InstanceSource = { kind: 'docker', where: 'a fake engine', list: async () => [], listCompose: async (p) => (asked.push(p), p === 'compose' ? [byCompose] : []) };
    const state = await observeContainers('auto', 'n3xus', 1_000, '127.0.0.1', given, fleet, composeProjectOf('compose/docker-compose.full.yml', undefined));
    expect(asked).toEqual(['compose']);
    expect(state.docker).toEqual({ used: true, project: 'n3xus', containers: 1, compose: 1, composeProject: 'compose' });
  });

  it("compose's project name: the one named, else the file's directory's as compose makes it", () => {
    expect(composeProjectOf('compose/docker-compose.full.yml', undefined)).toBe('compose');
    expect(composeProjectOf('/srv/My Fleet.v2/fleet.yml', undefined)).toBe('myfleetv2');
    expect(composeProjectOf('compose/docker-compose.full.yml', 'staging')).toBe('staging');
  });

  it('nothing of the project at all, by either label: container checks off, saying what was looked for', async () => {
    const { given } = source([], []);
    const state = await observeContainers('auto', 'none', 1_000, '127.0.0.1', given, fleet);
    expect(state.docker).toEqual({ used: false, reason: 'no container labelled n3xus.project=none or com.docker.compose.project=none', project: 'none', containers: 0 });
  });
});

describe('the summary of a compose-made fleet', () => {
  it('says its containers were not launched by n3xus, not that they were not checked', () => {
    const report = {
      schemaVersion: 2,
      mode: 'full',
      host: '127.0.0.1',
      fleetFile: 'f.yml',
      startedAt: '',
      durationMs: 10,
      threshold: 90,
      operationalPercent: 100,
      passed: true,
      availabilityPassed: true,
      law: { passed: true, checked: 0, violations: [] },
      counts: { services: 0, operational: 0, failed: 0, checks: 0, checksPassed: 0 },
      docker: { used: true, project: 'plain', containers: 2, compose: 2 },
      services: [],
    } satisfies VerifyReport;
    expect(renderSummary(report)).toContain('containers: 2 of project plain (all made by docker compose: not launched by n3xus)');
    expect(renderSummary({ ...report, docker: { ...report.docker, project: 'n3xus', composeProject: 'compose' } })).toContain(
      'containers: 2 of project n3xus (all made by docker compose, project compose: not launched by n3xus)',
    );
  });
});
