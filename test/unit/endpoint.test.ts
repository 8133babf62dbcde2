import { describe, expect, it } from 'vitest';
import { resolveEndpoint } from '../../src/docker/endpoint.ts';

describe('resolveEndpoint', () => {
  it('defaults to /var/run/docker.sock', () => {
    expect(resolveEndpoint({}, {})).toEqual({ kind: 'socket', socketPath: '/var/run/docker.sock', display: '/var/run/docker.sock' });
  });

  it('prefers an explicit socketPath over DOCKER_HOST', () => {
    expect(resolveEndpoint({ socketPath: '/tmp/d.sock' }, { DOCKER_HOST: 'tcp://127.0.0.1:2375' })).toMatchObject({ kind: 'socket', socketPath: '/tmp/d.sock' });
  });

  it('reads unix:// from DOCKER_HOST', () => {
    expect(resolveEndpoint({}, { DOCKER_HOST: 'unix:///run/user/1000/docker.sock' })).toMatchObject({
      kind: 'socket',
      socketPath: '/run/user/1000/docker.sock',
    });
  });

  it('reads tcp:// with and without TLS, with default ports', () => {
    expect(resolveEndpoint({}, { DOCKER_HOST: 'tcp://127.0.0.1:2375' })).toEqual({
      kind: 'tcp',
      host: '127.0.0.1',
      port: 2375,
      protocol: 'http',
      certPath: undefined,
      display: 'tcp://127.0.0.1:2375',
    });
    expect(resolveEndpoint({}, { DOCKER_HOST: 'tcp://localhost', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/certs' })).toMatchObject({
      protocol: 'https',
      port: 2376,
      certPath: '/certs',
    });
  });

  it('treats an empty DOCKER_HOST as unset', () => {
    expect(resolveEndpoint({}, { DOCKER_HOST: '' })).toMatchObject({ socketPath: '/var/run/docker.sock' });
  });

  it('rejects an address it cannot use, saying what it expected', () => {
    expect(() => resolveEndpoint({ dockerHost: 'ssh://me@host' }, {})).toThrow(/Expected DOCKER_HOST to be unix:\/\/\/path\/to\/docker.sock or tcp:\/\/host:port, got `ssh:\/\/me@host`/);
  });
});
