import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { chooseRenderer } from '../../src/bootstrap/bootstrap.ts';
import type { CheckResult } from '../../src/bootstrap/checks.ts';
import { BootstrapFailedError } from '../../src/bootstrap/errors.ts';
import { neededNetworks, resolveProject } from '../../src/bootstrap/gather.ts';
import { EXIT_CODES } from '../../src/cli/base-command.ts';
import { parseFleet } from '../../src/fleet/model.ts';

describe('BootstrapFailedError', () => {
  const checks: CheckResult[] = [
    { id: 'engine', title: 'Docker engine', status: 'ok', detail: 'API 1.41' },
    { id: 'cpu', title: 'CPU', status: 'warn', detail: '2 CPUs' },
    { id: 'ports', title: 'Ports on 127.0.0.1', status: 'fail', detail: '1 port of 3 busy:\nport 3001/tcp (service a): held by process node (pid 7)', fix: 'Free the port: stop node (kill 7).' },
    { id: 'networks', title: 'Networks', status: 'fail', detail: 'nexus-net missing', fix: 'Run n3xus bootstrap --fix to create nexus-net.' },
  ];
  const error = new BootstrapFailedError(checks);

  it('lists only the failed checks, each with what was found', () => {
    expect(error.message).toBe('2 of 4 checks failed:\n✖ Ports on 127.0.0.1: 1 port of 3 busy:\n    port 3001/tcp (service a): held by process node (pid 7)\n✖ Networks: nexus-net missing');
    expect(error.failed.map((c) => c.id)).toEqual(['ports', 'networks']);
  });

  it("gives each failed check's fix as a suggestion, prefixed by its title", () => {
    expect(error.suggestions).toEqual(['Ports on 127.0.0.1: Free the port: stop node (kill 7).', 'Networks: Run n3xus bootstrap --fix to create nexus-net.']);
  });

  it('maps to exit code 15 (BOOTSTRAP_FAILED)', () => {
    expect(error.name).toBe('BootstrapFailedError');
    expect(EXIT_CODES[error.code]).toBe(15);
  });
});

describe('chooseRenderer', () => {
  it('is silent for --json, a live tree in a terminal, and plain lines without one or under CI', () => {
    expect(chooseRenderer({ json: true, isTTY: true, ci: false })).toBe('silent');
    expect(chooseRenderer({ json: false, isTTY: true, ci: false })).toBe('default');
    expect(chooseRenderer({ json: false, isTTY: true, ci: true })).toBe('simple');
    expect(chooseRenderer({ json: false, isTTY: false, ci: false })).toBe('simple');
  });
});

describe('fleet-derived facts', () => {
  const labels = { 'n3xus.stage': 'core', 'n3xus.group': 'core', 'n3xus.category': 'api', 'n3xus.port': '8080' };
  const fleet = parseFleet(
    stringify({
      name: 'demo',
      services: {
        a: { image: 'x:1', ports: ['127.0.0.1:3101:8080'], labels, networks: ['front', 'shared'] },
        b: { image: 'x:1', ports: ['127.0.0.1:3102:8080'], labels },
      },
      networks: { front: { name: 'nexus-front' }, shared: { external: true }, unused: {} },
    }),
    'demo.yml',
    { env: {} },
  );

  it("names networks as compose does: the file's name, else <project>_<key>, and <project>_default for a service without networks", () => {
    expect(neededNetworks(fleet, 'demo')).toEqual([
      { key: 'front', name: 'nexus-front', external: false, internal: false },
      { key: 'shared', name: 'demo_shared', external: true, internal: false },
      { key: 'default', name: 'demo_default', external: false, internal: false },
    ]);
  });

  it("takes the project from --project, else the file's name, else n3xus", () => {
    expect(resolveProject('staging', fleet)).toBe('staging');
    expect(resolveProject(undefined, fleet)).toBe('demo');
    expect(resolveProject(undefined, undefined)).toBe('n3xus');
  });
});
