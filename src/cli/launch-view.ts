/**
 * How a launch shows its progress: a live listr2 tree by stage in a terminal, plain lines when not a TTY or in CI.
 * Both are fed the executor's events; neither decides anything.
 */
import chalk from 'chalk';
import { Listr, type ListrTask } from 'listr2';
import { STAGES, stageIndex } from '../fleet/stages.ts';
import type { LaunchEvent, LaunchFailure, LaunchResult } from '../launch/launch.ts';
import type { LaunchPlan } from '../plan/plan.ts';
import { describeRestarts } from '../launch/restarts.ts';

export interface LaunchView {
  onEvent(event: LaunchEvent): void;
  /** Called once the launch returned or threw; resolves when the view has drawn its last frame. */
  finish(): Promise<void>;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const stageLabel = (stage: (typeof STAGES)[number]): string => `[${stageIndex(stage) + 1}/${STAGES.length}] ${stage}`;

/** One line per thing that happens, for logs and CI. */
export function plainView(log: (line: string) => void): LaunchView {
  return {
    onEvent(event) {
      switch (event.type) {
        case 'stage-start':
          log(`${stageLabel(event.stage)}: starting ${event.services.length} service${event.services.length === 1 ? '' : 's'}`);
          break;
        case 'service-healthy':
          log(`  ok   ${event.service}: healthy after ${seconds(event.afterMs)} (${event.action})`);
          break;
        case 'service-failed':
          log(`  FAIL ${event.failure.service}: ${event.failure.message}`);
          break;
        case 'service-blocked':
          log(`  skip ${event.service}: blocked by ${event.by.join(', ')}`);
          break;
        case 'service-degraded':
          log(`  warn ${event.service}: degraded: ${event.reason}`);
          break;
        case 'stage-done':
          log(`${stageLabel(event.stage)}: done in ${seconds(event.durationMs)}${event.failed > 0 ? `, ${event.failed} failed` : ''}`);
          break;
        default:
          break;
      }
    },
    finish: () => Promise.resolve(),
  };
}

type Settled = { kind: 'healthy'; text: string } | { kind: 'degraded'; reason: string } | { kind: 'failed'; message: string } | { kind: 'skipped'; reason: string };

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A live tree: one task per stage, one subtask per service, settled by the executor's events. */
export function treeView(plan: LaunchPlan): LaunchView {
  const services = new Map<string, Deferred<Settled>>();
  const stageDone = new Map<string, Deferred<string>>();
  for (const s of plan.stages) {
    stageDone.set(s.stage, deferred());
    for (const name of s.batches.flat()) services.set(name, deferred());
  }
  const tasks: ListrTask[] = plan.stages.map((s) => ({
    title: `${stageLabel(s.stage)} (${s.batches.flat().length})`,
    task: (_ctx, task) => {
      void stageDone.get(s.stage)!.promise.then((suffix) => {
        task.title = `${stageLabel(s.stage)} (${s.batches.flat().length}) ${suffix}`;
      });
      return task.newListr(
        s.batches.flat().map((name) => ({
          title: name,
          task: async (_c, sub) => {
            const settled = await services.get(name)!.promise;
            if (settled.kind === 'healthy') sub.title = `${name} ${chalk.dim(settled.text)}`;
            else if (settled.kind === 'degraded') sub.title = `${name} ${chalk.yellow(`degraded: ${settled.reason}`)}`;
            else if (settled.kind === 'skipped') sub.skip(`${name}: ${settled.reason}`);
            else throw new Error(`${name}: ${settled.message}`);
          },
        })),
        { concurrent: true, exitOnError: false, rendererOptions: { collapseSubtasks: true } },
      );
    },
  }));
  const listr = new Listr(tasks, { concurrent: false, exitOnError: false, registerSignalListeners: false, rendererOptions: { collapseErrors: false } });
  const running = listr.run().catch(() => undefined);
  return {
    onEvent(event) {
      if (event.type === 'service-healthy') services.get(event.service)?.resolve({ kind: 'healthy', text: `healthy after ${seconds(event.afterMs)} (${event.action})` });
      else if (event.type === 'service-failed') services.get(event.failure.service)?.resolve({ kind: 'failed', message: event.failure.message });
      else if (event.type === 'service-degraded') services.get(event.service)?.resolve({ kind: 'degraded', reason: event.reason });
      else if (event.type === 'service-blocked') services.get(event.service)?.resolve({ kind: 'skipped', reason: `blocked by ${event.by.join(', ')}` });
      else if (event.type === 'stage-done') stageDone.get(event.stage)?.resolve(chalk.dim(`done in ${seconds(event.durationMs)}`));
    },
    async finish() {
      for (const d of services.values()) d.resolve({ kind: 'skipped', reason: 'not started' });
      for (const d of stageDone.values()) d.resolve(chalk.dim('not started'));
      await running;
    },
  };
}

/** The report printed after a launch: each failure with its evidence, then one summary line. */
export function renderLaunchSummary(result: LaunchResult): string {
  const lines: string[] = [];
  const degraded = [
    ...(result.restarts.length === 0 ? [] : [`restarted during the launch: ${describeRestarts(result.restarts)} (n3xus logs <service> says why)`]),
    ...result.degraded.map((d) => `degraded: ${d.service}: ${d.reason}`),
    ...result.notices.map((n) => `note: ${n}`),
  ].map((line) => chalk.yellow(line));
  if (result.noOp) {
    lines.push(`Nothing to do: all ${result.services.length} services of project ${result.project} are up to date and healthy (checked in ${seconds(result.durationMs)}).`);
    if (result.degraded.length > 0) lines[0] = `Nothing to do: all ${result.services.length} services of project ${result.project} are up to date; ${result.degraded.length} degraded, the others healthy (checked in ${seconds(result.durationMs)}).`;
    return [...lines, ...degraded].join('\n');
  }
  for (const f of result.failures) lines.push(...renderFailure(f));
  const count = (outcome: string): number => result.services.filter((s) => s.outcome === outcome).length;
  const actions = ['create', 'recreate', 'start', 'keep'] as const;
  const byAction = actions
    .map((a) => [a, result.services.filter((s) => s.action === a && s.outcome === 'healthy').length] as const)
    .filter(([, n]) => n > 0)
    .map(([a, n]) => `${n} ${a === 'keep' ? 'kept' : a === 'create' ? 'created' : a === 'recreate' ? 'recreated' : 'started'}`);
  const healthy = count('healthy');
  const notUp = result.services.length - healthy - count('degraded');
  let summary = `${healthy} of ${result.services.length} services healthy in ${seconds(result.durationMs)}${byAction.length > 0 ? ` (${byAction.join(', ')})` : ''}`;
  if (notUp > 0) summary += `; ${count('failed')} failed, ${count('blocked')} blocked, ${count('not-reached')} not started`;
  if (count('degraded') > 0) summary += `; ${count('degraded')} degraded`;
  if (result.restarts.length > 0) summary += `; ${result.restarts.length} restarted during the launch`;
  if (result.interrupted) summary += '; interrupted: run n3xus launch again to finish';
  lines.push(summary, ...degraded);
  for (const o of result.orphans) lines.push(chalk.yellow(`note: container ${o.name} (service ${o.service}) is not in the fleet file; left alone`));
  return lines.join('\n');
}

function renderFailure(f: LaunchFailure): string[] {
  const lines = [chalk.red(`✖ ${f.service} (stage ${f.stage}): ${f.message}`)];
  if (f.oomKilled) lines.push('  killed by the kernel for using more than its memory limit (OOM)');
  if (f.blocks.length > 0) lines.push(`  blocks: ${f.blocks.slice(0, 10).join(', ')}${f.blocks.length > 10 ? ` and ${f.blocks.length - 10} more` : ''}`);
  if (f.healthLog && f.healthLog.length > 0) lines.push('  last health checks:', ...f.healthLog.map((l) => `    ${l}`));
  if (f.logs.length > 0) lines.push(`  last ${f.logs.length} log lines:`, ...f.logs.map((l) => `    ${l}`));
  lines.push(`  more: n3xus logs ${f.service}`);
  return lines;
}
