/**
 * The CI gate to drop in (action.yml) and this repository's workflow that uses it: both parse, every command and
 * flag they name exists in the CLI, and the action's own input check refuses a bad mode when run. .ci/run runs the
 * action's steps on the real fleet (no GitHub runner is reachable here).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { actionScript, readAction, substitute } from '../support/action-steps.ts';

const manifest = JSON.parse(readFileSync('oclif.manifest.json', 'utf8')) as { commands: Record<string, { flags: Record<string, { char?: string }> }> };
const action = readAction();
const workflow = parse(readFileSync('.github/workflows/verify.yml', 'utf8')) as {
  jobs: Record<string, { steps: { uses?: string; with?: Record<string, string> }[] }>;
};

/** Each `node .../bin/run.js <command> <args>` in a script, as the command's id and its flags (`--name`). */
function cliCalls(script: string): { id: string; flags: string[] }[] {
  return [...script.matchAll(/bin\/run\.js"?\s+([^\n]*)/g)].map((m) => {
    const words = /^[a-z]+(?: [a-z]+)*/.exec(m[1]!)![0].split(' ');
    return { id: words.join(':'), flags: [...m[1]!.matchAll(/--([a-z][\w-]*)/g)].map((f) => f[1]!) };
  });
}

describe('action.yml, the CI gate to drop in', () => {
  it('is a composite action whose inputs all have a description and a default', () => {
    expect(action.runs.using).toBe('composite');
    expect(Object.keys(action.inputs)).toEqual(['fleet-file', 'threshold', 'mode', 'junit', 'html']);
    for (const [name, input] of Object.entries(action.inputs)) {
      expect(input.description, name).toMatch(/\w/);
      expect(typeof input.default, name).toBe('string');
    }
  });

  it('runs bootstrap, launch, verify and down, each a command and flags the CLI has, and always uploads the reports', () => {
    const calls = action.runs.steps.flatMap((step) => (step.run === undefined ? [] : cliCalls(substitute(step.run, action, {}, '/opt/n3xus'))));
    expect(calls.map((c) => c.id)).toEqual(['images:build', 'bootstrap', 'launch', 'verify', 'down']);
    for (const call of calls) {
      const command = manifest.commands[call.id];
      expect(command, call.id).toBeDefined();
      for (const flag of call.flags) expect(Object.keys(command!.flags), `${call.id} --${flag}`).toContain(flag);
    }
    expect(calls.find((c) => c.id === 'verify')!.flags).toEqual(['file', 'threshold', 'junit', 'html', 'full']);
    const steps = action.runs.steps;
    expect(steps.filter((s) => s.if === 'always()').map((s) => s.name)).toEqual(['Down', 'Upload the verify reports']);
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
    expect(upload.with!.path).toContain('${{ inputs.junit }}');
    expect(upload.with!.path).toContain('${{ inputs.html }}');
  });

  it('becomes a script with every expression replaced: the inputs given, else their defaults', () => {
    const script = actionScript(action, { threshold: '90', mode: 'sample' }, '/opt/n3xus');
    expect(script).not.toContain('${{');
    expect(script).toContain('node "/opt/n3xus/bin/run.js" verify --file "compose/docker-compose.full.yml" --threshold "90" --junit "reports/n3xus-verify.xml"');
    // Down runs at the end whatever happened, from the EXIT trap.
    expect(script.indexOf('trap always_steps EXIT')).toBeLessThan(script.indexOf('== action step: Launch'));
    expect(() => substitute('${{ secrets.TOKEN }}', action, {}, '/x')).toThrow('action.yml uses ${{ secrets.TOKEN }}, which only a GitHub runner can give');
    expect(() => actionScript(action, { treshold: '90' })).toThrow('action.yml has no input "treshold"');
  });

  it('refuses a mode that is neither full nor sample, before anything is installed', () => {
    const check = action.runs.steps.find((s) => s.name === 'Check the inputs')!;
    const bad = spawnSync('bash', ['-c', substitute(check.run!, action, { mode: 'everything' }, '/x')], { encoding: 'utf8' });
    expect(bad.status).toBe(22);
    expect(bad.stdout).toContain('::error::input mode is "everything": use full or sample');
    for (const mode of ['full', 'sample']) expect(spawnSync('bash', ['-c', substitute(check.run!, action, { mode }, '/x')]).status, mode).toBe(0);
  });
});

describe('.github/workflows/verify.yml', () => {
  it("uses the action at the repository's root with inputs it declares", () => {
    const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);
    const gate = steps.find((s) => s.uses === './')!;
    expect(gate).toBeDefined();
    for (const name of Object.keys(gate.with ?? {})) expect(Object.keys(action.inputs), name).toContain(name);
    expect(gate.with).toMatchObject({ threshold: '100', mode: 'full' });
  });
});
