/**
 * Convergence, as compose does it: observe (containers found by label), reconcile (this module: no engine call),
 * execute. Every step records its cause, and the steps render to text that tests compare whole.
 */
import type { Instance } from '../drivers/driver.ts';
import type { DesiredInstance } from './desired.ts';
import { STATE_LABELS } from './labels.ts';

/**
 * - `keep`: running with the same configuration and image; only its health is checked.
 * - `start`: exists with the same configuration but is not running (created by an interrupted launch, or stopped).
 * - `create`: no container for the service.
 * - `recreate`: the configuration or the image changed, or the container cannot be started again as it is.
 */
export type StepAction = 'keep' | 'start' | 'create' | 'recreate';

export interface Step {
  service: string;
  action: StepAction;
  /** Why, in words: "no existing container", "config changed", "exited (1)"… */
  cause: string;
  /** The existing container the step acts on (absent for `create`). */
  containerId?: string;
}

/** What reconcile decided: one step per desired service, plus containers to remove first. */
export interface Reconciliation {
  steps: Step[];
  /** Extra containers for a service (a launch interrupted while another ran): removed before anything starts. */
  duplicates: { service: string; containerId: string; name: string }[];
  /** Containers of the project whose service is not in the fleet file: reported, left alone. */
  orphans: { service: string; containerId: string; name: string }[];
}

/** States the engine can start a container from again as it is. */
const STARTABLE = new Set(['created', 'exited']);

/**
 * How an instance differs from what launch would create, in the order launch looks: its config hash label (absent
 * on what launch did not create), then its image ID (compared only when both are known; '' is not known).
 */
export type Drift = 'no config hash label' | 'config changed' | 'image changed' | 'secrets changed';

/** How an instance's config hash label differs from `want`, or undefined when it is the same. */
export function configDrift(want: string, labels: Readonly<Record<string, string>>): Drift | undefined {
  const hash = labels[STATE_LABELS.configHash];
  if (hash === want) return undefined;
  return hash === undefined ? 'no config hash label' : 'config changed';
}

/** Whether an instance's image ID (`have`) is not the one wanted; an unknown ID ('') is no difference. */
export function imageDrift(want: string, have: string): Drift | undefined {
  return have !== '' && want !== '' && have !== want ? 'image changed' : undefined;
}

/** The first way `have` is not `want` (see {@link Drift}), or undefined when launch would keep it. Shared by status and verify. */
export function driftOf(want: Pick<DesiredInstance, 'configHash' | 'imageId'> & { secretsHash?: string }, have: Pick<Instance, 'labels' | 'imageId'>): Drift | undefined {
  return configDrift(want.configHash, have.labels) ?? imageDrift(want.imageId, have.imageId) ?? secretDrift(want.secretsHash ?? '', have.labels);
}

/** Whether an instance's secrets hash label differs from `want`; '' (values not read) is no difference. */
export function secretDrift(want: string, labels: Readonly<Record<string, string>>): Drift | undefined {
  return want !== '' && labels[STATE_LABELS.secretsHash] !== want ? 'secrets changed' : undefined;
}

function stepFor(want: DesiredInstance, have: Instance): Step {
  const base = { service: want.service.name, containerId: have.id };
  const drift = driftOf(want, have);
  if (drift !== undefined) return { ...base, action: 'recreate', cause: drift };
  // A service the driver runs without (see Instance.degraded) stays so until what it lacks is installed, which
  // changes its image ID above.
  if (have.status === 'degraded') return { ...base, action: 'keep', cause: 'up to date, degraded' };
  if (have.status === 'running' || have.status === 'restarting') return { ...base, action: 'keep', cause: have.status === 'running' ? 'up to date' : 'up to date, restarting' };
  // A Swarm service whose tasks are on their way: the orchestrator is at work, and the health wait follows it.
  if (have.status === 'starting') return { ...base, action: 'keep', cause: 'up to date, starting' };
  if (STARTABLE.has(have.status)) {
    return { ...base, action: 'start', cause: have.status === 'created' ? 'created, never started' : `exited (${have.exitCode})` };
  }
  return { ...base, action: 'recreate', cause: `${have.status}, cannot be started as it is` };
}

/**
 * Compares what the launch wants with what the engine has (the containers listed by the project label) and says
 * what to do for each service. When a service has more than one container, the one to keep is the running one
 * with the wanted name, else the newest; the others are duplicates.
 */
export function reconcile(desired: readonly DesiredInstance[], observed: readonly Instance[]): Reconciliation {
  const byService = new Map<string, Instance[]>();
  for (const container of observed) {
    const service = container.labels[STATE_LABELS.service];
    if (service === undefined) continue;
    byService.set(service, [...(byService.get(service) ?? []), container]);
  }
  const wanted = new Set(desired.map((d) => d.service.name));
  const steps: Step[] = [];
  const duplicates: Reconciliation['duplicates'] = [];
  for (const want of desired) {
    const candidates = byService.get(want.service.name) ?? [];
    if (candidates.length === 0) {
      steps.push({ service: want.service.name, action: 'create', cause: 'no existing container' });
      continue;
    }
    const rank = (c: Instance): number => (c.name === want.name ? 2 : 0) + (c.running ? 1 : 0);
    const [kept, ...extra] = [...candidates].sort((a, b) => rank(b) - rank(a));
    for (const c of extra) duplicates.push({ service: want.service.name, containerId: c.id, name: c.name });
    const step = stepFor(want, kept!);
    // Another container holds the wanted name: recreating under that name needs it gone, which `duplicates` does.
    steps.push(kept!.name === want.name || step.action !== 'keep' ? step : { ...step, action: 'recreate', cause: `named ${kept!.name}, not ${want.name}` });
  }
  const orphans: Reconciliation['orphans'] = [];
  for (const [service, containers] of byService) {
    if (wanted.has(service)) continue;
    for (const c of containers) orphans.push({ service, containerId: c.id, name: c.name });
  }
  return { steps, duplicates, orphans };
}

/** Whether a reconciliation changes nothing: every service kept, no duplicate to remove. */
export function isNoOp(reconciliation: Reconciliation): boolean {
  return reconciliation.duplicates.length === 0 && reconciliation.steps.every((s) => s.action === 'keep');
}

/**
 * The steps as text, one line per step that does something, in the plan's order, then a count of the kept ones:
 *
 * ```
 * identity-registry: recreate (config changed)
 * audit-trail: create (no existing container)
 * 98 up to date
 * ```
 */
export function renderSteps(reconciliation: Reconciliation): string {
  const lines: string[] = [];
  for (const d of reconciliation.duplicates) lines.push(`${d.service}: remove duplicate container ${d.name}`);
  for (const s of reconciliation.steps) if (s.action !== 'keep') lines.push(`${s.service}: ${s.action} (${s.cause})`);
  const kept = reconciliation.steps.filter((s) => s.action === 'keep').length;
  if (kept > 0) lines.push(`${kept} up to date`);
  for (const o of reconciliation.orphans) lines.push(`${o.service}: not in the fleet file, left alone (container ${o.name})`);
  return `${lines.join('\n')}\n`;
}
