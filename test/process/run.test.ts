import { describe, expect, it } from 'vitest';
import { formatCommand, ProcessError, run, runStreaming } from '../../src/process/run.ts';

describe('run', () => {
  it('resolves with stdout, stderr and the duration of a command that exits 0', async () => {
    const result = await run('sh', ['-c', 'echo out; echo err >&2']);
    expect(result.stdout).toBe('out\n');
    expect(result.stderr).toBe('err\n');
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('rejects a non-zero exit with ProcessError carrying the command, exit code and stderr tail', async () => {
    const error = await run('sh', ['-c', 'for i in 1 2 3 4 5; do echo line$i >&2; done; exit 4'], { tailLines: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProcessError);
    const processError = error as ProcessError;
    expect(processError).toMatchObject({ command: 'sh', exitCode: 4, signal: null, stderrTail: 'line4\nline5' });
    expect(processError.message).toMatch(/^Exited with code 4: sh -c 'for i in/);
  });

  it('rejects a command that does not exist, saying so', async () => {
    const error = (await run('n3xus-no-such-command').catch((e: unknown) => e)) as ProcessError;
    expect(error).toBeInstanceOf(ProcessError);
    expect(error.exitCode).toBeNull();
    expect(error.message).toMatch(/Could not start `n3xus-no-such-command` \(not installed or not on PATH\)/);
  });

  it('kills a command that runs past its timeout', async () => {
    const error = (await run('sleep', ['10'], { timeoutMs: 100 }).catch((e: unknown) => e)) as ProcessError;
    expect(error.message).toMatch(/^Timed out after 100 ms: sleep 10/);
    expect(error.signal).toBe('SIGTERM');
  });

  it('hands each output line to onLine as it comes', async () => {
    const lines: string[] = [];
    await run('sh', ['-c', 'echo a; echo b >&2; printf c'], { onLine: (line, stream) => lines.push(`${stream}:${line}`) });
    expect(lines.sort()).toEqual(['stderr:b', 'stdout:a', 'stdout:c']);
  });
});

describe('runStreaming', () => {
  it('streams stdout and settles after exit', async () => {
    const { stdout, completed } = runStreaming('sh', ['-c', 'head -c 100000 /dev/zero']);
    let bytes = 0;
    for await (const chunk of stdout) bytes += (chunk as Buffer).length;
    await completed;
    expect(bytes).toBe(100_000);
  });
});

describe('formatCommand', () => {
  it('quotes only the arguments that need it', () => {
    expect(formatCommand('tar', ['-C', '/tmp/a b', "it's", '--x=1'])).toBe(`tar -C '/tmp/a b' 'it'\\''s' --x=1`);
  });
});
