import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readState, recordInstance, StateFileError, withStateLock, writeState, type ProcessRecord } from '../../src/drivers/process/process-state.ts';
import { instanceFailure } from '../../src/launch/health.ts';

const record: ProcessRecord = {
  id: 'p.audit.0a1b2c',
  name: 'p-audit',
  service: 'audit',
  image: 'n3xus/audit:3.0',
  imageId: 'sha256:abc',
  labels: { 'n3xus.service': 'audit' },
  argv: ['node'],
  env: {},
  cwd: '/',
  ports: { '3005/tcp': 3005 },
  stopSignal: 'SIGTERM',
  createdAt: '2026-01-01T00:00:00.000Z',
  restartCount: 0,
};
const started = { ...record, pid: 4242, startTicks: 99, startedAt: '2026-01-01T00:00:01.000Z' };

describe('a process record read as an instance', () => {
  it('is created until started, then running', () => {
    expect(recordInstance(record, { running: false })).toMatchObject({ status: 'created', running: false, exitCode: 0 });
    expect(recordInstance(started, { running: true })).toMatchObject({ status: 'running', running: true, pid: 4242, startedAt: '2026-01-01T00:00:01.000Z' });
  });

  it('reads a crash like an exited container, so the executor reports it the same way', () => {
    const crashed = recordInstance(started, { running: false, exitCode: 3 });
    expect(crashed).toMatchObject({ status: 'exited', running: false, exitCode: 3 });
    expect(instanceFailure(crashed)).toMatchObject({ kind: 'exited', exitCode: 3 });
    expect(instanceFailure(recordInstance(started, { running: false, exitCode: 45 }))).toMatchObject({ kind: 'law-violation', exitCode: 45 });
  });

  it('reads a PID that now belongs to another process as exited, and says so', () => {
    const stale = recordInstance(started, { running: false, stale: true });
    expect(stale).toMatchObject({ status: 'exited', running: false, exitCode: -1 });
    expect(stale.error).toContain('stale');
  });
});

describe('the state file', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is empty for a project never launched, and reads back what was written, leaving no temporary file', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-state-'));
    expect(readState(dir, 'p').records).toEqual([]);
    writeState(dir, { version: 1, project: 'p', records: [started] });
    expect(readState(dir, 'p').records).toEqual([started]);
    expect(readdirSync(path.join(dir, 'p'))).toEqual(['state.json']);
  });

  it('cut short or of another kind, is refused with one error naming the file and what to do', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-state-'));
    mkdirSync(path.join(dir, 'p'));
    const file = path.join(dir, 'p', 'state.json');
    for (const [text, why] of [['{"version":1,"records":[', 'is not JSON ('], ['{"version":2,"records":[]}', 'is not a process driver state file (version 1)'], ['null', 'is not a process driver state file']] as const) {
      writeFileSync(file, text);
      const error = (() => {
        try {
          readState(dir, 'p');
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(StateFileError);
      expect((error as StateFileError).code).toBe('STATE_UNREADABLE');
      expect((error as Error).message).toContain(`${file} ${why}`);
      expect((error as StateFileError).suggestions[0]).toContain('move');
    }
  });
});

describe('the state lock', () => {
  let lockDir = '';
  afterEach(() => rmSync(lockDir, { recursive: true, force: true }));

  it('lets one change at a time through, across holders, and takes over a lock whose owner is gone', async () => {
    lockDir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-lock-'));
    const order: string[] = [];
    const hold = (name: string, ms: number) =>
      withStateLock(lockDir, 'p', async () => {
        order.push(`${name} in`);
        await new Promise((resolve) => setTimeout(resolve, ms));
        order.push(`${name} out`);
      });
    await Promise.all([hold('a', 80), hold('b', 10)]);
    expect(order).toEqual(['a in', 'a out', 'b in', 'b out']);
    // PID 2**22 + 1 is above Linux's pid_max: no such process holds it.
    writeFileSync(path.join(lockDir, 'p', 'state.lock'), String(2 ** 22 + 1));
    await expect(withStateLock(lockDir, 'p', async () => 'taken over', 1_000)).resolves.toBe('taken over');
    expect(existsSync(path.join(lockDir, 'p', 'state.lock'))).toBe(false);
  });
});
