import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const loaded = (fragment: string) => Object.keys(require.cache).some((k) => k.includes(fragment));

describe("dockerode's unused modules, deferred", () => {
  it('are not loaded by importing the engine, and load for real on first use', async () => {
    await import('../../src/docker/engine.ts');
    const { deferredModules } = await import('../../src/docker/lazy-modules.ts');
    const [session, ssh] = deferredModules();
    expect(session).toMatch(/dockerode[/\\]lib[/\\]session\.js$/);
    expect(ssh).toMatch(/docker-modem[/\\]lib[/\\]ssh\.js$/);
    expect(loaded(`${'@grpc'}/grpc-js`)).toBe(false);
    expect(loaded(`node_modules/${'ssh2'}/`)).toBe(false);

    // The real withSession dials the engine first; a dial that fails must reach the handler through the stand-in.
    const sessionStandIn = require.cache[session!]?.exports as (docker: unknown, auth: unknown, handler: (err: unknown) => void) => void;
    const failure = new Error('no engine here');
    const seen = await new Promise<unknown>((resolve) => sessionStandIn({ modem: { dial: (_o: unknown, cb: (err: Error) => void) => cb(failure) } }, undefined, resolve));
    expect(seen).toBe(failure);
    expect(loaded(`${'@grpc'}/grpc-js`)).toBe(true);
    expect(require.cache[session!]?.exports).not.toBe(sessionStandIn);

    // The real ssh module makes an HTTP agent over an SSH client (it connects only when used).
    const sshStandIn = require.cache[ssh!]?.exports as (options: object) => { createConnection: unknown };
    expect(typeof sshStandIn({ host: '127.0.0.1' }).createConnection).toBe('function');
    expect(loaded(`node_modules/${'ssh2'}/`)).toBe(true);
  });
});
