import { describe, expect, it } from 'vitest';
import { labelFilter, publishedPorts, splitImageTag, summarizeContainer, summarizeContainerEvent, summarizeListedContainer } from '../../src/docker/inspect.ts';

describe('summarizeContainer', () => {
  it('reads name, state, health and published ports from inspect output', () => {
    const info = summarizeContainer({
      Id: 'abc',
      Name: '/n3xus-postgres',
      Image: 'sha256:def',
      RestartCount: 2,
      Config: { Image: 'n3xus/postgres:15', Labels: { 'n3xus.test': '1' } },
      State: {
        Status: 'running',
        Running: true,
        ExitCode: 0,
        OOMKilled: false,
        StartedAt: '2026-11-27T10:00:00.5Z',
        Health: { Status: 'healthy', Log: [{ ExitCode: 0, Output: 'accepting connections\n' }] },
      },
      NetworkSettings: {
        Ports: { '5432/tcp': [{ HostIp: '127.0.0.1', HostPort: '49153' }], '9000/tcp': null },
        Networks: { 'nexus-data': { IPAddress: '172.20.0.2' }, 'nexus-admin': { IPAddress: '172.21.0.2' } },
      },
    });
    expect(info).toEqual({
      id: 'abc',
      name: 'n3xus-postgres',
      image: 'n3xus/postgres:15',
      imageId: 'sha256:def',
      labels: { 'n3xus.test': '1' },
      status: 'running',
      running: true,
      exitCode: 0,
      health: 'healthy',
      lastHealthOutput: 'accepting connections\n',
      healthLog: ['exit 0: accepting connections'],
      ports: { '5432/tcp': 49153 },
      networks: { 'nexus-data': '172.20.0.2', 'nexus-admin': '172.21.0.2' },
      pid: 0,
      restartCount: 2,
      oomKilled: false,
      startedAt: '2026-11-27T10:00:00.5Z',
    });
  });

  it('has no health for a container without a healthcheck', () => {
    expect(summarizeContainer({ Id: 'x', State: { Status: 'exited', ExitCode: 3 } })).toMatchObject({ health: undefined, exitCode: 3, running: false });
  });

  it('reads an OOM kill, and no start time from the engine\'s zero time', () => {
    const info = summarizeContainer({ Id: 'x', State: { Status: 'exited', ExitCode: 137, OOMKilled: true, StartedAt: '0001-01-01T00:00:00Z' } });
    expect(info).toMatchObject({ oomKilled: true, exitCode: 137 });
    expect(info.startedAt).toBeUndefined();
  });
});

describe('publishedPorts', () => {
  it('prefers the 127.0.0.1 binding when a port is bound twice', () => {
    expect(publishedPorts({ '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '127.0.0.1', HostPort: '8081' }] })).toEqual({ '80/tcp': 8081 });
  });
});

describe('summarizeListedContainer', () => {
  it('reads exit code and health from the status text', () => {
    expect(summarizeListedContainer({ Id: 'a', Names: ['/one'], State: 'exited', Status: 'Exited (7) 2 minutes ago' })).toMatchObject({
      name: 'one',
      running: false,
      exitCode: 7,
      health: undefined,
    });
    expect(summarizeListedContainer({ Id: 'b', State: 'running', Status: 'Up 3 seconds (health: starting)' }).health).toBe('starting');
    expect(summarizeListedContainer({ Id: 'c', State: 'running', Status: 'Up 1 minute (unhealthy)' }).health).toBe('unhealthy');
    // A container in a restart loop says the code it last exited with: launch reads 45 there as the runtime law.
    expect(summarizeListedContainer({ Id: 'd', State: 'restarting', Status: 'Restarting (45) 2 seconds ago' }).exitCode).toBe(45);
  });

  it('reads the published port, preferring the 127.0.0.1 entry', () => {
    const info = summarizeListedContainer({
      Id: 'd',
      Ports: [
        { IP: '::', PrivatePort: 80, PublicPort: 1, Type: 'tcp' },
        { IP: '127.0.0.1', PrivatePort: 80, PublicPort: 2, Type: 'tcp' },
        { PrivatePort: 443, Type: 'tcp' },
      ],
    });
    expect(info.ports).toEqual({ '80/tcp': 2 });
  });
});

describe('splitImageTag', () => {
  it('splits at the last colon after the last slash', () => {
    expect(splitImageTag('n3xus/debian:bookworm')).toEqual({ repository: 'n3xus/debian', tag: 'bookworm' });
    expect(splitImageTag('localhost:5000/n3xus/node')).toEqual({ repository: 'localhost:5000/n3xus/node', tag: 'latest' });
    expect(splitImageTag('localhost:5000/node:24')).toEqual({ repository: 'localhost:5000/node', tag: '24' });
  });
});

describe('labelFilter', () => {
  it('writes key=value, or the bare key to match any value', () => {
    expect(labelFilter({ 'n3xus.test': '1', 'n3xus.session': undefined })).toEqual(['n3xus.test=1', 'n3xus.session']);
  });
});

describe('summarizeContainerEvent', () => {
  // As Docker 20.10 sends a restart policy's work: the container exits 3, then starts again.
  const die = {
    status: 'die',
    id: 'a8bf098bbebb',
    from: 'n3xus/v-supercore:3.0',
    Type: 'container',
    Action: 'die',
    Actor: { ID: 'a8bf098bbebb', Attributes: { exitCode: '3', image: 'n3xus/v-supercore:3.0', name: 'p-v-supercore', 'n3xus.service': 'v-supercore' } },
    scope: 'local',
    time: 1796431509,
  };

  it('reads the action, the container, its labels and the exit code of a die', () => {
    expect(summarizeContainerEvent(die)).toEqual({
      action: 'die',
      id: 'a8bf098bbebb',
      attributes: { exitCode: '3', image: 'n3xus/v-supercore:3.0', name: 'p-v-supercore', 'n3xus.service': 'v-supercore' },
      exitCode: 3,
    });
  });

  it('has no exit code for a start', () => {
    const start = { ...die, status: 'start', Action: 'start', Actor: { ID: 'a8bf098bbebb', Attributes: { name: 'p-v-supercore' } } };
    expect(summarizeContainerEvent(start)).toEqual({ action: 'start', id: 'a8bf098bbebb', attributes: { name: 'p-v-supercore' } });
  });

  it('ignores what is not a container event', () => {
    expect(summarizeContainerEvent({ Type: 'network', Action: 'connect', Actor: { ID: 'n1' } })).toBeUndefined();
    expect(summarizeContainerEvent('not json')).toBeUndefined();
  });
});
