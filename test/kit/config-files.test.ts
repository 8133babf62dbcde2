import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '../../services/_kit/src/config.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'n3xus-kit-files-'));
  await writeFile(path.join(dir, 'handshake'), '55-45-17\n');
  await writeFile(path.join(dir, 'db'), 'postgres://u:p@db:5432/d');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const base = { N3XUS_SERVICE: 'api-docs', PORT: '0' };

describe('the kit reads credentials from files (Swarm and compose secrets)', () => {
  it('reads <KEY>_FILE, dropping the final newline', () => {
    const config = readConfig({ ...base, N3XUS_HANDSHAKE_FILE: path.join(dir, 'handshake'), DATABASE_URL_FILE: path.join(dir, 'db') });
    expect(config.handshake).toBe('55-45-17');
    expect(config.databaseUrl).toBe('postgres://u:p@db:5432/d');
    expect(config.redisUrl).toBeUndefined();
  });

  it('refuses a value given both ways', () => {
    expect(() => readConfig({ ...base, DATABASE_URL: 'postgres://x', DATABASE_URL_FILE: path.join(dir, 'db') })).toThrow(ConfigError);
  });

  it('names an unreadable file; an unreadable handshake file is a missing handshake, which the law refuses', () => {
    expect(() => readConfig({ ...base, REDIS_URL_FILE: path.join(dir, 'none') })).toThrow(/REDIS_URL_FILE=.*none.* cannot be read/);
    expect(readConfig({ ...base, N3XUS_HANDSHAKE_FILE: path.join(dir, 'none') }).handshake).toBeUndefined();
  });
});
