import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { logLimit, rotateLog } from '../../src/process/log-rotation.ts';

describe('logLimit', () => {
  it('reads max-size in Docker units and max-file, one file by default', () => {
    expect(logLimit({ 'max-size': '10m', 'max-file': '3' })).toEqual({ maxBytes: 10 * 1024 * 1024, files: 3 });
    expect(logLimit({ 'max-size': '512k' })).toEqual({ maxBytes: 512 * 1024, files: 1 });
  });

  it('sets no limit without a max-size, as json-file does', () => {
    expect(logLimit(undefined)).toBeUndefined();
    expect(logLimit({ 'max-file': '3' })).toBeUndefined();
  });
});

describe('rotateLog', () => {
  let dir = '';
  let file = '';
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-rotate-'));
    file = path.join(dir, 'svc.log');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('leaves a file under the limit, and a missing one, alone', () => {
    expect(rotateLog(file, { maxBytes: 10, files: 3 })).toBe(false);
    writeFileSync(file, 'short');
    expect(rotateLog(file, { maxBytes: 10, files: 3 })).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('short');
  });

  it('shifts the files by one and drops the oldest beyond max-file', () => {
    writeFileSync(`${file}.1`, 'older');
    writeFileSync(`${file}.2`, 'oldest');
    writeFileSync(file, 'live content, full');
    expect(rotateLog(file, { maxBytes: 10, files: 3 })).toBe(true);
    expect(existsSync(file)).toBe(false);
    expect(readFileSync(`${file}.1`, 'utf8')).toBe('live content, full');
    expect(readFileSync(`${file}.2`, 'utf8')).toBe('older');
    expect(existsSync(`${file}.3`)).toBe(false);
  });

  it('with one file allowed, drops the old content', () => {
    writeFileSync(file, 'live content, full');
    expect(rotateLog(file, { maxBytes: 10, files: 1 })).toBe(true);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}.1`)).toBe(false);
  });
});
