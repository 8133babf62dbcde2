import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  afterRepair,
  checkBaseImages,
  checkComposeFile,
  checkCpu,
  checkCrashed,
  checkDisk,
  checkEngine,
  checkHandshake,
  checkMemory,
  checkNetworks,
  checkSwarm,
  checkPorts,
  checkServiceImages,
  expectedLaunchSeconds,
  isReady,
  notChecked,
  repairFailed,
  type CheckResult,
  type HostToolFacts,
  type ImageFact,
  type PortFact,
  type ResourceFacts,
} from '../../src/bootstrap/checks.ts';
import { FleetFileError, parseFleet } from '../../src/fleet/model.ts';

const GiB = 1024 ** 3;
const LAW = '55-45-17';

function fleetFile(services: Record<string, Record<string, unknown>>, extra: Record<string, unknown> = {}): string {
  const withLabels = Object.fromEntries(
    Object.entries(services).map(([name, def], i) => [
      name,
      { image: `example/${name}:1`, ports: [`127.0.0.1:${3101 + i}:8080`], labels: { 'n3xus.stage': 'core', 'n3xus.group': 'core', 'n3xus.category': 'api', 'n3xus.port': '8080' }, ...def },
    ]),
  );
  return stringify({ services: withLabels, ...extra });
}

describe('checkEngine', () => {
  it('fails when the engine does not answer, with how to start it or where to point DOCKER_HOST', () => {
    const { result, repair } = checkEngine({ endpoint: '/var/run/docker.sock', reachable: false, reason: 'Docker engine not reachable at /var/run/docker.sock: connect ENOENT' });
    expect(result).toMatchObject({ id: 'engine', title: 'Docker engine', status: 'fail' });
    expect(result.detail).toContain('connect ENOENT');
    expect(result.fix).toMatch(/dockerd/);
    expect(result.fix).toMatch(/DOCKER_HOST/);
    expect(repair).toBeUndefined();
  });

  it('passes with the API version, engine version, platform and endpoint', () => {
    const { result } = checkEngine({ endpoint: '/var/run/docker.sock', reachable: true, apiVersion: '1.41', version: '20.10.24+dfsg1', os: 'linux', arch: 'amd64' });
    expect(result).toMatchObject({ status: 'ok', detail: 'API 1.41 (Docker 20.10.24+dfsg1, linux/amd64) at /var/run/docker.sock' });
  });

  it('warns about an API older than 1.41, comparing versions as numbers', () => {
    const facts = { endpoint: 'x', reachable: true as const, version: 'v', os: 'linux', arch: 'amd64' };
    expect(checkEngine({ ...facts, apiVersion: '1.40' }).result.status).toBe('warn');
    expect(checkEngine({ ...facts, apiVersion: '1.100' }).result.status).toBe('ok');
    expect(checkEngine({ ...facts, apiVersion: '1.44' }).result.status).toBe('ok');
  });
});

describe('checkComposeFile', () => {
  it('passes with the number of services, networks and volumes', () => {
    const fleet = parseFleet(fleetFile({ web: {}, api: {} }, { networks: { net: {} } }), 'test.yml', { env: {} });
    expect(checkComposeFile({ fleet }).result).toMatchObject({ status: 'ok', detail: 'test.yml: 2 services, 1 network, 0 volumes' });
  });

  it('names the env file the variables came from', () => {
    const fleet = parseFleet(fleetFile({ web: {} }), 'test.yml', { env: {} });
    expect(checkComposeFile({ fleet, envFile: 'compose/airgap.env' }).result.detail).toBe('test.yml (variables from compose/airgap.env): 1 service, 0 networks, 0 volumes');
  });

  it('warns about variables used without a value', () => {
    const fleet = parseFleet(fleetFile({ web: { image: '${MISSING_IMAGE}x:1' } }), 'test.yml', { env: {} });
    const { result } = checkComposeFile({ fleet });
    expect(result.status).toBe('warn');
    expect(result.detail).toMatch(/MISSING_IMAGE is not set/);
  });

  it("fails with the FleetFileError's problems (file, service, key) and its suggestions as the fix", () => {
    let error: FleetFileError | undefined;
    try {
      parseFleet(fleetFile({ web: { labels: { 'n3xus.group': 'core', 'n3xus.category': 'api', 'n3xus.port': '8080' } } }), 'bad.yml', { env: {} });
    } catch (e) {
      error = e as FleetFileError;
    }
    expect(error).toBeInstanceOf(FleetFileError);
    const { result } = checkComposeFile({ file: 'bad.yml', error: error! });
    expect(result.status).toBe('fail');
    expect(result.detail).toMatch(/^bad\.yml: service "web": key "labels\.n3xus\.stage"/);
    expect(result.fix).toBe(error!.suggestions.join(' '));
  });

  it('fails with a generic fix for an error without suggestions', () => {
    const { result } = checkComposeFile({ file: 'x.yml', error: new Error('boom') });
    expect(result).toMatchObject({ status: 'fail', detail: 'boom' });
    expect(result.fix).toMatch(/-f\/--file/);
  });
});

describe('resources', () => {
  const facts = (patch: Partial<ResourceFacts>): ResourceFacts => ({ containers: 100, cpus: 16, memTotalBytes: 24 * GiB, memAvailableBytes: 20 * GiB, source: 'engine', ...patch });

  it('estimates launch time as CPU-bound: ~135 s for 100 containers on 2 cores', () => {
    expect(expectedLaunchSeconds(100, 2)).toBe(135);
    expect(expectedLaunchSeconds(100, 10)).toBe(27);
    expect(expectedLaunchSeconds(1, 16)).toBe(1);
    expect(expectedLaunchSeconds(100, 0)).toBe(270);
  });

  it('warns, never fails, with 2 CPUs for 100 containers, and says what to expect', () => {
    const { result } = checkCpu(facts({ cpus: 2 }));
    expect(result.status).toBe('warn');
    expect(result.detail).toBe('2 CPUs for 100 containers, fewer than the ~10 the seed asks for: launch will take longer, expect ~135 s until all are healthy');
  });

  it('passes with 10 CPUs or more for 100 containers', () => {
    expect(checkCpu(facts({ cpus: 10 })).result.status).toBe('ok');
    expect(checkCpu(facts({ cpus: 16 })).result.detail).toBe('16 CPUs for 100 containers: expect ~17 s until all are healthy');
  });

  it("scales what it asks for with the fleet's size", () => {
    expect(checkCpu(facts({ cpus: 2, containers: 3 })).result.status).toBe('ok');
    expect(checkMemory(facts({ memTotalBytes: 2 * GiB, memAvailableBytes: GiB, containers: 3 })).result.status).toBe('ok');
  });

  it('says when the numbers are this machine\'s because the engine did not answer', () => {
    expect(checkCpu(facts({ source: 'host' })).result.detail).toContain('(this machine; the engine did not answer)');
  });

  it('passes with 24 GiB total and 20 GiB available', () => {
    const { result } = checkMemory(facts({}));
    expect(result.status).toBe('ok');
    expect(result.detail).toBe('24.0 GiB total, 20.0 GiB available; the idle fleet takes ~4.7 GiB (~48 MiB a container)');
  });

  it('warns below the seed\'s ~10 GB for 100 containers and says what to expect', () => {
    const { result } = checkMemory(facts({ memTotalBytes: 8 * GiB, memAvailableBytes: 6 * GiB }));
    expect(result.status).toBe('warn');
    expect(result.detail).toContain('the seed asks for ~10.0 GiB');
    expect(result.detail).toMatch(/memory pressure/);
  });

  it('warns when less is available than the idle fleet takes, even with enough in total', () => {
    const { result } = checkMemory(facts({ memAvailableBytes: 1 * GiB }));
    expect(result.status).toBe('warn');
    expect(result.detail).toMatch(/not enough available now, expect swapping/);
  });

  it('judges total memory alone when available memory is unknown (remote engine)', () => {
    const { memAvailableBytes: _, ...remote } = facts({});
    expect(checkMemory(remote).result).toMatchObject({ status: 'ok', detail: '24.0 GiB total; the idle fleet takes ~4.7 GiB (~48 MiB a container)' });
  });
});

describe('checkDisk', () => {
  it('passes with enough free space in both places, on separate file systems', () => {
    const { result } = checkDisk({
      locations: [
        { role: 'docker', path: '/var/lib/docker', freeBytes: 50 * GiB, device: 1 },
        { role: 'project', path: '/work/main', freeBytes: 2 * GiB, device: 2 },
      ],
    });
    expect(result).toMatchObject({ status: 'ok', detail: "Docker's data root /var/lib/docker: 50.0 GiB free; project directory /work/main: 2.0 GiB free" });
  });

  it('adds both needs up when both are on one file system', () => {
    const oneFs = (free: number) =>
      checkDisk({
        locations: [
          { role: 'docker', path: '/var/lib/docker', freeBytes: free, device: 7 },
          { role: 'project', path: '/work/main', freeBytes: free, device: 7 },
        ],
      }).result;
    expect(oneFs(3.5 * GiB).status).toBe('warn');
    expect(oneFs(3.5 * GiB).detail).toContain('less than the ~4.0 GiB wanted');
    expect(oneFs(3.5 * GiB).detail).toContain('project directory /work/main: on the same file system');
    expect(oneFs(4.5 * GiB).status).toBe('ok');
  });

  it('warns, never fails, when space is short, and says what to expect and how to free some', () => {
    const { result } = checkDisk({ locations: [{ role: 'docker', path: '/var/lib/docker', freeBytes: 500 * 1024 ** 2, device: 1 }] });
    expect(result.status).toBe('warn');
    expect(result.detail).toContain('500 MiB free, less than the ~3.0 GiB wanted');
    expect(result.detail).toContain('no space left on device');
    expect(result.fix).toMatch(/docker system prune/);
  });

  it('warns when a place cannot be measured, saying why', () => {
    const { result } = checkDisk({ locations: [{ role: 'docker', path: '/var/lib/docker', reason: 'the engine runs on another machine' }] });
    expect(result).toMatchObject({ status: 'warn', detail: "Docker's data root /var/lib/docker: could not measure (the engine runs on another machine)" });
  });
});

describe('checkPorts', () => {
  const port = (n: number, service: string, holder?: PortFact['holder']): PortFact => ({ port: n, protocol: 'tcp', service, ...(holder ? { holder } : {}) });

  it('passes when every port is free', () => {
    expect(checkPorts({ project: 'n3xus', ports: [port(3001, 'a'), port(3002, 'b')] }).result).toMatchObject({ status: 'ok', detail: '2 ports free' });
  });

  it('passes when a port is held by a container of this project: our own fleet is running', () => {
    const { result } = checkPorts({ project: 'n3xus', ports: [port(3001, 'a', { kind: 'container', name: 'n3xus-a', n3xusProject: 'n3xus' }), port(3002, 'b')] });
    expect(result).toMatchObject({ status: 'ok', detail: '1 port free, 1 port in use by our own fleet (project "n3xus")' });
  });

  it("fails for a port held by another n3xus project's container, naming port, service, container and project", () => {
    const { result } = checkPorts({ project: 'n3xus', ports: [port(3001, 'v-supercore', { kind: 'container', name: 'staging-v-supercore', n3xusProject: 'staging' })] });
    expect(result.status).toBe('fail');
    expect(result.detail).toBe('1 port of 1 busy:\nport 3001/tcp (service v-supercore): held by container staging-v-supercore of n3xus project "staging"');
    expect(result.fix).toBe('Free the port: n3xus down --project staging; or publish the service on another port in the compose file.');
  });

  it('fails for a port held by a process, naming the command and pid', () => {
    const { result } = checkPorts({ project: 'n3xus', ports: [port(3001, 'a', { kind: 'process', pid: 4242, command: 'node' })] });
    expect(result.detail).toContain('port 3001/tcp (service a): held by process node (pid 4242)');
    expect(result.fix).toContain('stop node (kill 4242)');
  });

  it('names the way to free a port for each kind of holder', () => {
    const { result } = checkPorts({
      project: 'n3xus',
      ports: [
        port(3001, 'a', { kind: 'container', name: 'web-1', composeProject: 'web' }),
        port(3002, 'b', { kind: 'container', name: 'lonely' }),
        port(3003, 'c', { kind: 'unknown' }),
      ],
    });
    expect(result.detail).toContain('held by container web-1 of compose project "web"');
    expect(result.detail).toContain('port 3002/tcp (service b): held by container lonely');
    expect(result.detail).toContain('port 3003/tcp (service c): in use by something this user cannot see');
    expect(result.fix).toBe("Free the ports: docker-compose -p web down, docker rm -f lonely, find what holds it (ss -ltnup 'sport = :3003') and stop it; or publish the services on another port in the compose file.");
  });

  it('points at the container, not its docker-proxy, for a port the engine publishes for a container it could not name', () => {
    const { result } = checkPorts({ project: 'n3xus', ports: [port(3001, 'a', { kind: 'docker-proxy', pid: 99 })] });
    expect(result.detail).toContain('port 3001/tcp (service a): published by a Docker container (docker-proxy, pid 99)');
    expect(result.fix).toBe('Free the port: stop the container publishing it (docker ps --filter publish=3001 names it); or publish the service on another port in the compose file.');
    expect(result.fix).not.toContain('kill');
  });

  it('lists at most 10 busy ports, then how many more', () => {
    const ports = Array.from({ length: 13 }, (_, i) => port(3001 + i, `s${i}`, { kind: 'unknown' }));
    const lines = checkPorts({ project: 'n3xus', ports }).result.detail.split('\n');
    expect(lines[0]).toBe('13 ports of 13 busy:');
    expect(lines).toHaveLength(12);
    expect(lines.at(-1)).toBe('…and 3 more');
  });

  it('says when the fleet publishes nothing, and leaves sctp ports unchecked', () => {
    expect(checkPorts({ project: 'n3xus', ports: [] }).result).toMatchObject({ status: 'ok', detail: 'the fleet publishes no ports' });
    expect(checkPorts({ project: 'n3xus', ports: [{ port: 9, protocol: 'sctp', service: 'x' }, port(3001, 'a')] }).result.detail).toBe('1 port free (1 sctp port not checked)');
  });
});

describe('checkHandshake', () => {
  const carriers = (value: string, ...services: string[]) => services.map((service) => ({ service, where: 'environment' as const, value }));

  it('warns when N3XUS_HANDSHAKE is unset: the default (the law) is used', () => {
    const { result } = checkHandshake({ envValue: undefined, law: LAW, carriers: carriers(LAW, 'a', 'b') });
    expect(result.status).toBe('warn');
    expect(result.detail).toBe('N3XUS_HANDSHAKE is not set: the default 55-45-17 (the N3XUS LAW) is used; all 2 services carry it');
    expect(result.fix).toBe('export N3XUS_HANDSHAKE=55-45-17 to make it explicit.');
  });

  it('treats an empty N3XUS_HANDSHAKE as unset, as compose does for ${VAR:-default}', () => {
    expect(checkHandshake({ envValue: '', law: LAW, carriers: carriers(LAW, 'a') }).result.status).toBe('warn');
  });

  it('passes when N3XUS_HANDSHAKE is the law and every service carries it', () => {
    expect(checkHandshake({ envValue: LAW, law: LAW, carriers: carriers(LAW, 'a', 'b') }).result).toMatchObject({ status: 'ok', detail: 'N3XUS_HANDSHAKE is the N3XUS LAW handshake; all 2 services carry it' });
  });

  it('fails for a wrong N3XUS_HANDSHAKE, says what follows, and never prints the value', () => {
    const { result } = checkHandshake({ envValue: 'wrong-secret', law: LAW, carriers: carriers('wrong-secret', 'a') });
    expect(result.status).toBe('fail');
    expect(result.detail).toMatch(/not to the N3XUS LAW handshake: image builds stop at the law check and every service exits with a law violation/);
    expect(JSON.stringify(result)).not.toContain('wrong-secret');
    expect(result.fix).toMatch(/^Unset N3XUS_HANDSHAKE/);
  });

  it('fails when services of the compose file carry a different handshake, naming them and where', () => {
    const { result } = checkHandshake({
      envValue: LAW,
      law: LAW,
      carriers: [...carriers(LAW, 'a'), { service: 'b', where: 'environment', value: 'other' }, { service: 'b', where: 'build arg', value: 'other' }, ...carriers('x', 'c')],
    });
    expect(result.status).toBe('fail');
    expect(result.detail).toBe('2 services of the compose file carry a handshake other than N3XUS_HANDSHAKE: b (environment), b (build arg), c (environment)');
    expect(result.fix).toContain('${N3XUS_HANDSHAKE:-55-45-17}');
    expect(JSON.stringify(result)).not.toMatch(/"other"|\bx\b/);
  });

  it('compares with the default when unset, and fails rather than warns on a mismatch', () => {
    const { result } = checkHandshake({ envValue: undefined, law: LAW, carriers: carriers('hard-coded', 'a') });
    expect(result.status).toBe('fail');
    expect(result.detail).toBe('1 service of the compose file carries a handshake other than the default (the N3XUS LAW): a (environment)');
  });

  it('passes when no service carries a handshake and the environment is right', () => {
    expect(checkHandshake({ envValue: LAW, law: LAW, carriers: [] }).result.detail).toBe('N3XUS_HANDSHAKE is the N3XUS LAW handshake; no service carries N3XUS_HANDSHAKE');
  });
});

describe('checkBaseImages', () => {
  const tools = (patch: Partial<HostToolFacts> = {}): HostToolFacts => ({ debootstrap: true, tar: true, root: true, debianBasePresent: true, ...patch });
  const base = (tag: string, present: boolean, services: string[] = []): ImageFact => ({ tag, services, present, build: false, ours: false });
  const bases = (present: Record<string, boolean>) => Object.entries(present).map(([tag, p]) => base(tag, p));

  it('passes when every base is present, and says whether the tools to rebuild them are there', () => {
    const { result } = checkBaseImages({ images: bases({ 'n3xus/node:24': true, 'n3xus/postgres:15': true, 'n3xus/redis:7': true }), tools: tools({ debootstrap: false }) });
    expect(result).toMatchObject({
      status: 'ok',
      detail: 'n3xus/node:24, n3xus/postgres:15, n3xus/redis:7 present (to build bases: debootstrap missing, tar present)',
    });
  });

  it('fails for a missing base of ours, fixable by building it here', () => {
    const { result, repair } = checkBaseImages({ images: bases({ 'n3xus/node:24': true, 'n3xus/postgres:15': false, 'n3xus/redis:7': false }), tools: tools() });
    expect(result.status).toBe('fail');
    expect(result.detail).toMatch(/^missing: n3xus\/postgres:15, n3xus\/redis:7/);
    expect(result.fix).toBe('Build n3xus/postgres:15, n3xus/redis:7 here: n3xus images build --bases-only (or n3xus bootstrap --fix).');
    expect(repair).toEqual({ kind: 'build-base-images', tags: ['n3xus/postgres:15', 'n3xus/redis:7'] });
  });

  it('needs no debootstrap to build PostgreSQL and Redis while the Debian base is present', () => {
    const { repair } = checkBaseImages({ images: bases({ 'n3xus/postgres:15': false }), tools: tools({ debootstrap: false, root: false }) });
    expect(repair?.kind).toBe('build-base-images');
  });

  it('offers no repair, and says what to install, when debootstrap is needed but missing', () => {
    const { result, repair } = checkBaseImages({ images: bases({ 'n3xus/postgres:15': false }), tools: tools({ debootstrap: false, debianBasePresent: false }) });
    expect(repair).toBeUndefined();
    expect(result.detail).toContain('cannot build them here, missing debootstrap (apt-get install debootstrap)');
    expect(result.fix).toMatch(/^Install what building the bases needs: debootstrap/);
  });

  it('needs tar for any base build', () => {
    const { result, repair } = checkBaseImages({ images: bases({ 'n3xus/node:24': false }), tools: tools({ tar: false }) });
    expect(repair).toBeUndefined();
    expect(result.detail).toContain('missing tar');
  });

  it('fails without a repair for a missing image that is not ours, pointing at the local bases and images load', () => {
    const { result, repair } = checkBaseImages({ images: [base('n3xus/node:24', true), base('postgres:15', false, ['postgres'])], tools: tools() });
    expect(result.status).toBe('fail');
    expect(result.detail).toMatch(/^missing: postgres:15 \(postgres\)/);
    expect(result.fix).toContain('postgres:15 cannot be built here without a registry');
    expect(result.fix).toContain('compose/airgap.env');
    expect(result.fix).toContain('n3xus images load');
    expect(repair).toBeUndefined();
  });

  it('ignores images the compose file builds (the service images check covers them)', () => {
    const { result } = checkBaseImages({ images: [{ tag: 'n3xus/a:3.0', services: ['a'], present: false, build: true, ours: true }], tools: tools() });
    expect(result).toMatchObject({ status: 'ok' });
  });
});

describe('checkServiceImages', () => {
  const image = (tag: string, present: boolean, ours = true): ImageFact => ({ tag, services: [tag.split(/[/:]/)[1]!], present, build: true, ours });

  it('passes when every built image is present, or when the fleet builds none', () => {
    expect(checkServiceImages({ images: [image('n3xus/a:3.0', true)], tools: {} as HostToolFacts }).result).toMatchObject({ status: 'ok', detail: 'all 1 image present' });
    expect(checkServiceImages({ images: [], tools: {} as HostToolFacts }).result.detail).toBe('the fleet builds no images');
  });

  it('warns, and offers to build ours, when some are not built yet', () => {
    const { result, repair } = checkServiceImages({ images: [image('n3xus/a:3.0', false), image('n3xus/b:3.0', true), image('n3xus/c:3.0', false)], tools: {} as HostToolFacts });
    expect(result).toMatchObject({ status: 'warn', detail: '2 of 3 images not built yet: n3xus/a:3.0, n3xus/c:3.0' });
    expect(result.fix).toMatch(/n3xus images build/);
    expect(repair).toEqual({ kind: 'build-service-images', services: ['a', 'c'] });
  });

  it('leaves images that are not our catalog\'s to launch --build', () => {
    const { result, repair } = checkServiceImages({ images: [image('acme/x:1', false, false)], tools: {} as HostToolFacts });
    expect(result.fix).toBe('Build them: n3xus launch --build.');
    expect(repair).toBeUndefined();
  });
});

describe('checkNetworks', () => {
  const needed = [{ key: 'nexus-net', name: 'nexus-net', external: false, internal: false }];

  it('passes when the networks exist', () => {
    expect(checkNetworks({ project: 'n3xus', needed, present: [{ name: 'nexus-net', labels: {} }] }).result).toMatchObject({ status: 'ok', detail: 'nexus-net present' });
  });

  it('says when an existing network was created for another project', () => {
    const { result } = checkNetworks({ project: 'n3xus', needed, present: [{ name: 'nexus-net', labels: { 'n3xus.project': 'staging' } }] });
    expect(result).toMatchObject({ status: 'ok', detail: 'nexus-net present (created for project "staging")' });
  });

  it('fails for a missing network, with --fix as the fix and a repair that creates it', () => {
    const { result, repair } = checkNetworks({ project: 'n3xus', needed, present: [{ name: 'bridge', labels: {} }] });
    expect(result).toMatchObject({ status: 'fail', detail: 'nexus-net missing' });
    expect(result.fix).toBe('Run n3xus bootstrap --fix to create nexus-net (n3xus launch does too).');
    expect(repair).toEqual({ kind: 'create-networks', networks: [{ name: 'nexus-net', internal: false }], overlay: false });
  });

  it('for Swarm, creates missing networks as overlays, and fails on a bridge of the same name with how to replace it', () => {
    expect(checkNetworks({ project: 'n3xus', needed, present: [], swarm: true }).repair).toEqual({ kind: 'create-networks', networks: [{ name: 'nexus-net', internal: false }], overlay: true });
    expect(checkNetworks({ project: 'n3xus', needed, present: [{ name: 'nexus-net', labels: {}, driver: 'overlay', scope: 'swarm' }], swarm: true }).result.status).toBe('ok');
    const { result, repair } = checkNetworks({ project: 'n3xus', needed, present: [{ name: 'nexus-net', labels: {}, driver: 'bridge', scope: 'local' }], swarm: true });
    expect(result).toMatchObject({ status: 'fail', detail: 'nexus-net present as a bridge network (scope local), which Swarm services cannot join' });
    expect(result.fix).toContain('docker network rm nexus-net');
    expect(repair).toBeUndefined();
  });

  it('for Swarm, takes a swarm-scoped network whose driver the allocator has not filled in yet as one Swarm can join', () => {
    // Just after it was created, the engine lists a swarm network with Driver "" until the swarm allocates it.
    const { result } = checkNetworks({ project: 'n3xus', needed, present: [{ name: 'nexus-net', labels: {}, driver: '', scope: 'swarm' }], swarm: true });
    expect(result).toMatchObject({ status: 'ok', detail: 'nexus-net present' });
  });

  it('fails, without a repair, on a network that exists internal where the fleet declares it not, or the other way', () => {
    const data = [{ key: 'nexus-data', name: 'nexus-data', external: false, internal: true }];
    expect(checkNetworks({ project: 'n3xus', needed: data, present: [{ name: 'nexus-data', labels: {}, internal: true }] }).result.status).toBe('ok');
    const { result, repair } = checkNetworks({ project: 'n3xus', needed: data, present: [{ name: 'nexus-data', labels: {}, internal: false }] });
    expect(result).toMatchObject({ status: 'fail', detail: 'nexus-data present as a network that is not internal, and the fleet declares it internal' });
    expect(result.fix).toBe('Remove nexus-data (n3xus down --driver docker, or docker network rm nexus-data), then run n3xus bootstrap --fix to create it as the fleet declares.');
    expect(repair).toBeUndefined();
    expect(checkNetworks({ project: 'n3xus', needed, present: [{ name: 'nexus-net', labels: {}, internal: true }] }).result.detail).toBe('nexus-net present as an internal network, and the fleet declares it not internal');
  });

  it('fails without a repair for a missing external network', () => {
    const { result, repair } = checkNetworks({ project: 'n3xus', needed: [{ key: 'shared', name: 'shared', external: true, internal: false }], present: [] });
    expect(result.detail).toBe('shared missing (declared external: made outside the fleet)');
    expect(result.fix).toContain('docker network create shared');
    expect(repair).toBeUndefined();
  });
});

describe('after a repair', () => {
  const failed: CheckResult = { id: 'networks', title: 'Networks', status: 'fail', detail: 'nexus-net missing', fix: 'run --fix' };

  it('is fixed when the re-check passes, saying what was done', () => {
    expect(afterRepair({ id: 'networks', title: 'Networks', status: 'ok', detail: 'nexus-net present' }, 'created nexus-net')).toEqual({
      id: 'networks',
      title: 'Networks',
      status: 'fixed',
      detail: 'created nexus-net; nexus-net present',
    });
  });

  it("keeps the re-check's verdict when it still does not pass", () => {
    expect(afterRepair({ ...failed, detail: 'postgres:15 missing' }, 'built n3xus/redis:7')).toMatchObject({ status: 'fail', detail: 'built n3xus/redis:7, but: postgres:15 missing' });
  });

  it('fails with the reason when the repair itself failed', () => {
    expect(repairFailed(failed, new Error('permission denied'))).toMatchObject({ status: 'fail', detail: 'nexus-net missing\n--fix failed: permission denied', fix: 'run --fix' });
  });
});

describe('verdicts', () => {
  it('is ready when nothing failed: warnings and fixed checks are fine', () => {
    const check = (status: CheckResult['status']): CheckResult => ({ id: 'cpu', title: 'CPU', status, detail: '' });
    expect(isReady([check('ok'), check('warn'), check('fixed')])).toBe(true);
    expect(isReady([check('ok'), check('fail')])).toBe(false);
  });

  it('marks a check that could not run as a warning saying why', () => {
    expect(notChecked('ports', 'the compose file is not valid').result).toEqual({ id: 'ports', title: 'Ports on 127.0.0.1', status: 'warn', detail: 'not checked: the compose file is not valid' });
  });

  it('turns an unexpected error into a failed check with its message only', () => {
    const { result } = checkCrashed('networks', new Error('Docker list networks failed: 500'));
    expect(result).toMatchObject({ status: 'fail', detail: 'could not check: Docker list networks failed: 500' });
  });
});

describe('checkSwarm', () => {
  const facts = { state: 'active', manager: true, nodes: 3, managers: 1, nodeAddr: '127.0.0.1', wanted: false };

  it('passes on a swarm manager, saying the size of the swarm', () => {
    expect(checkSwarm(facts).result).toMatchObject({ status: 'ok', detail: expect.stringContaining('a manager of a swarm of 3 nodes (1 manager)') });
  });

  it('warns on a worker, and fails there when a swarm is asked for', () => {
    expect(checkSwarm({ ...facts, manager: false }).result.status).toBe('warn');
    expect(checkSwarm({ ...facts, manager: false, wanted: true }).result).toMatchObject({ status: 'fail', fix: expect.stringContaining('manager') });
    expect(checkSwarm({ ...facts, manager: false, wanted: true }).repair).toBeUndefined();
  });

  it('passes outside a swarm unless one is asked for; then fails with swarm init on loopback as the repair', () => {
    expect(checkSwarm({ ...facts, state: 'inactive', manager: false }).result.status).toBe('ok');
    const asked = checkSwarm({ ...facts, state: 'inactive', manager: false, wanted: true });
    expect(asked.result).toMatchObject({ status: 'fail', fix: expect.stringContaining('--swarm') });
    expect(asked.repair).toEqual({ kind: 'swarm-init', advertiseAddr: '127.0.0.1' });
  });

  it('names a swarm in another state', () => {
    expect(checkSwarm({ ...facts, state: 'locked', manager: false }).result).toMatchObject({ status: 'warn', detail: 'the swarm is locked' });
  });
});
