import { describe, expect, it } from 'vitest';
import { InvalidVerifyArgumentError } from '../../src/verify/errors.ts';
import { parseConcurrency, parseHost, parseProject, parseSampleSize, parseSeed, parseThreshold, parseTimeoutMs, urlHost } from '../../src/verify/options.ts';

function refusal(run: () => unknown): InvalidVerifyArgumentError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidVerifyArgumentError);
    expect((error as InvalidVerifyArgumentError).code).toBe('INVALID_ARGUMENT');
    return error as InvalidVerifyArgumentError;
  }
  throw new Error('expected an InvalidVerifyArgumentError');
}

describe('verify options', () => {
  it('threshold defaults to the seed\'s 90 and takes any number from 0 to 100', () => {
    expect(parseThreshold(undefined)).toBe(90);
    expect(parseThreshold('0')).toBe(0);
    expect(parseThreshold('100')).toBe(100);
    expect(parseThreshold(' 99.5 ')).toBe(99.5);
  });

  it.each(['101', '-1', '100.01', 'ninety', '', '1e2', 'NaN', 'Infinity', '50%'])('threshold %j is refused with what was expected', (raw) => {
    expect(refusal(() => parseThreshold(raw)).message).toBe(`--threshold must be a number from 0 to 100 (a percentage of operational services); got ${JSON.stringify(raw)}.`);
  });

  it('timeout and concurrency take whole numbers within bounds', () => {
    expect(parseTimeoutMs(undefined)).toBe(2000);
    expect(parseTimeoutMs('250')).toBe(250);
    expect(parseConcurrency(undefined)).toBe(64);
    expect(parseConcurrency('1')).toBe(1);
    expect(refusal(() => parseTimeoutMs('0')).message).toBe('--timeout must be a whole number of milliseconds from 1 to 600000; got "0".');
    expect(refusal(() => parseTimeoutMs('1.5')).message).toContain('whole number');
    expect(refusal(() => parseConcurrency('2000')).message).toBe('--concurrency must be a whole number of requests from 1 to 1024; got "2000".');
  });

  it('seed is a 32-bit whole number, absent unless given; sample size a whole number from 1', () => {
    expect(parseSeed(undefined)).toBeUndefined();
    expect(parseSeed('0')).toBe(0);
    expect(parseSeed('4294967295')).toBe(4294967295);
    for (const raw of ['-1', '1.5', 'abc', '', '4294967296']) {
      expect(refusal(() => parseSeed(raw)).message).toBe(`--seed must be a whole number from 0 to 4294967295 (a sample's seed, as a report prints it); got ${JSON.stringify(raw)}.`);
    }
    expect(parseSampleSize(undefined)).toBeUndefined();
    expect(parseSampleSize('30')).toBe(30);
    expect(refusal(() => parseSampleSize('0')).message).toBe('--sample-size must be a whole number of services from 1 to 100000; got "0".');
  });

  it('host defaults to loopback and takes names and addresses', () => {
    expect(parseHost(undefined)).toBe('127.0.0.1');
    expect(parseHost('staging.example.com')).toBe('staging.example.com');
    expect(parseHost('localhost')).toBe('localhost');
    expect(parseHost('10.0.0.5')).toBe('10.0.0.5');
    expect(parseHost('[::1]')).toBe('::1');
    expect(parseHost('::1')).toBe('::1');
    expect(urlHost('::1')).toBe('[::1]');
    expect(urlHost('10.0.0.5')).toBe('10.0.0.5');
  });

  it('host refuses a URL or a port, saying what to leave out', () => {
    expect(refusal(() => parseHost('http://10.0.0.5')).message).toContain('Leave out the scheme');
    expect(refusal(() => parseHost('10.0.0.5:3001')).message).toContain('Leave out the port');
    expect(refusal(() => parseHost('bad host')).message).toBe('--host must be a host name or an IP address, e.g. 127.0.0.1 or staging.example.com; got "bad host".');
    refusal(() => parseHost(''));
  });

  it('project takes a compose project name, as launch does', () => {
    expect(parseProject(undefined)).toBeUndefined();
    expect(parseProject('n3xus')).toBe('n3xus');
    expect(parseProject('staging_2')).toBe('staging_2');
    expect(refusal(() => parseProject('Staging')).message).toContain('--project must be a project name');
    refusal(() => parseProject('a=b'));
  });
});
