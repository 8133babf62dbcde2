/**
 * The composite action at the repository root (action.yml) as a script: no GitHub runner is reachable here, so its
 * steps are checked (test/unit/ci-action.test.ts) and run on the real fleet by .ci/run through this.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export interface ActionInput {
  description: string;
  default: string;
}

export interface ActionStep {
  name: string;
  run?: string;
  uses?: string;
  if?: string;
  shell?: string;
  with?: Record<string, string>;
}

export interface Action {
  name: string;
  inputs: Record<string, ActionInput>;
  runs: { using: string; steps: ActionStep[] };
}

export function readAction(file = 'action.yml'): Action {
  return parse(readFileSync(file, 'utf8')) as Action;
}

/**
 * A step's `run` with `${{ inputs.<name> }}` and `${{ github.action_path }}` replaced as the runner would: the
 * inputs given, else their defaults. Any other expression is an error, since nothing here could give it a value.
 */
export function substitute(text: string, action: Action, inputs: Readonly<Record<string, string>>, actionPath: string): string {
  for (const name of Object.keys(inputs)) {
    if (!(name in action.inputs)) throw new Error(`action.yml has no input "${name}" (it has ${Object.keys(action.inputs).join(', ')})`);
  }
  return text.replace(/\$\{\{\s*([\w.-]+)\s*\}\}/g, (_, expression: string) => {
    if (expression === 'github.action_path') return actionPath;
    const input = /^inputs\.([\w-]+)$/.exec(expression)?.[1];
    if (input === undefined || !(input in action.inputs)) throw new Error(`action.yml uses \${{ ${expression} }}, which only a GitHub runner can give`);
    return inputs[input] ?? action.inputs[input]!.default;
  });
}

/**
 * The action's `run` steps as one bash script, in order: a failing step stops the rest, and the steps marked
 * `if: always()` run at the end whatever happened, as on a runner. Steps that use another action (the upload of
 * the reports) cannot run here and are named in a comment.
 */
export function actionScript(action: Action, inputs: Readonly<Record<string, string>> = {}, actionPath = path.resolve('.')): string {
  const lines = ['set -euo pipefail', 'always_steps() {', '  local code=$?', '  set +e'];
  const main: string[] = [];
  for (const step of action.runs.steps) {
    if (step.run === undefined) {
      main.push(`# not run here: ${step.name} (uses ${step.uses ?? 'nothing'})`);
      continue;
    }
    const run = substitute(step.run, action, inputs, actionPath);
    if (step.if === 'always()') lines.push(`  echo "== action step: ${step.name} (always)"`, `  ${run}`);
    else main.push(`echo "== action step: ${step.name}"`, run);
  }
  lines.push('  exit $code', '}', 'trap always_steps EXIT', ...main);
  return `${lines.join('\n')}\n`;
}
