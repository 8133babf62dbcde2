/**
 * The launch plan: which services start in which stage and batch. Pure: it reads the fleet model and makes no
 * engine call, so it is tested by comparing the rendered text (see render.ts).
 */
import type { Fleet, FleetService } from '../fleet/model.ts';
import { STAGES, stageIndex, type Stage } from '../fleet/stages.ts';

/** Services per batch of the extended stage unless told otherwise. */
export const DEFAULT_BATCH_SIZE = 25;

/** The one stage split into batches: it is by far the largest (47 of our 98 services). */
export const BATCHED_STAGE: Stage = 'extended';

/**
 * The seed's phase numbers and the stage each falls in (core runtime 3-4, federation 5-6, domain 7-12); the other
 * stages have no phase number.
 */
export const SEED_PHASES: Readonly<Record<number, Stage>> = {
  3: 'core',
  4: 'core',
  5: 'federation',
  6: 'federation',
  7: 'domain',
  8: 'domain',
  9: 'domain',
  10: 'domain',
  11: 'domain',
  12: 'domain',
};

export interface PlanOptions {
  /** Services per batch of the extended stage (default {@link DEFAULT_BATCH_SIZE}); an integer from 1 up. */
  batchSize?: number;
  /** Plan only this stage (`--phase`). */
  onlyStage?: Stage;
  /** With {@link onlyStage}: every earlier stage too, so that what the stage relies on is started first. */
  withDeps?: boolean;
}

/** One stage of the plan: its batches in start order, each a list of service names in start order. */
export interface PlanStage {
  stage: Stage;
  batches: string[][];
}

/** The stages to start, in order; stages without services are left out. */
export interface LaunchPlan {
  stages: PlanStage[];
}

/** The fleet's `depends_on` cannot be planned: unknown service, dependency on a later stage, or a cycle. */
export class PlanError extends Error {
  override readonly name = 'PlanError';
  readonly code = 'INVALID_PLAN';
  /** The services involved: the dependent first, then what it depends on (for a cycle, the cycle's path). */
  readonly services: readonly string[];
  readonly suggestions: readonly string[];

  constructor(message: string, services: readonly string[], suggestions: readonly string[]) {
    super(message);
    this.services = services;
    this.suggestions = suggestions;
  }
}

/** A `--phase` value that names no stage. */
export class UnknownStageError extends Error {
  override readonly name = 'UnknownStageError';
  readonly code = 'UNKNOWN_STAGE';
  readonly input: string;
  readonly suggestions: readonly string[];

  constructor(input: string, hint: string | undefined) {
    const stages = STAGES.map((s, i) => `${i + 1} ${s}`).join(', ');
    super(`Unknown stage "${input}"${hint ? ` (${hint})` : ''}. Stages, by name or number: ${stages}; or a seed phase as phase-3 to phase-12.`);
    this.input = input;
    this.suggestions = [`Use a stage name such as --phase federation, or its number such as --phase 3.`, 'See the stages in order with --dry-run.'];
  }
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * Reads a stage as the user gives it: its name (any case), its number 1-8 in start order (the `[n]` that
 * `--dry-run` prints), or a seed phase as `phase-5` (also `phase5`, `p5`). A bare number is always the stage
 * number: the seed's phases 3-12 overlap 1-8, and `--phase 5` must not mean two things.
 * @throws UnknownStageError listing the stages.
 */
export function parseStage(input: string | number): Stage {
  const text = String(input).trim().toLowerCase();
  const byName = STAGES.find((s) => s === text);
  if (byName) return byName;
  if (/^\d+$/.test(text)) {
    const stage = STAGES[Number(text) - 1];
    if (stage) return stage;
    const seed = SEED_PHASES[Number(text)];
    throw new UnknownStageError(String(input), seed ? `stage numbers are 1-${STAGES.length}; the seed's phase ${text} is in stage ${seed}, --phase ${seed} or phase-${text}` : `stage numbers are 1-${STAGES.length}`);
  }
  const phase = /^(?:phase|p)[-_ ]?(\d+)$/.exec(text)?.[1];
  if (phase !== undefined) {
    const stage = SEED_PHASES[Number(phase)];
    if (stage) return stage;
    throw new UnknownStageError(String(input), 'the seed has phases 3 to 12');
  }
  const near = STAGES.map((s) => [s, editDistance(text, s)] as const).filter(([, d]) => d <= 2).sort((a, b) => a[1] - b[1])[0];
  throw new UnknownStageError(String(input), near ? `did you mean "${near[0]}"?` : undefined);
}

/** Checks every `depends_on` of the fleet: the dependency exists and is not in a later stage. */
function checkDependencies(fleet: Fleet, byName: ReadonlyMap<string, FleetService>): void {
  for (const service of fleet.services) {
    for (const dependency of service.dependsOn) {
      const target = byName.get(dependency.name);
      if (!target) {
        // compose starts a service whose optional dependency is not in the project.
        if (!dependency.required) continue;
        throw new PlanError(`service "${service.name}" (stage ${service.stage}) depends on "${dependency.name}", which is not a service of ${fleet.file}`, [service.name, dependency.name], [
          `Add "${dependency.name}" to ${fleet.file}, or remove it from the depends_on of "${service.name}".`,
        ]);
      }
      if (stageIndex(target.stage) > stageIndex(service.stage)) {
        throw new PlanError(`service "${service.name}" (stage ${service.stage}) depends on "${target.name}" of the later stage ${target.stage}`, [service.name, target.name], [
          `Stages start in the order ${STAGES.join(', ')}; move "${target.name}" to stage ${service.stage} or earlier, or "${service.name}" to stage ${target.stage} or later.`,
        ]);
      }
    }
  }
}

/** Dependencies of `service` inside the same stage, in the order its depends_on lists them. */
function sameStageDependencies(service: FleetService, byName: ReadonlyMap<string, FleetService>): string[] {
  return service.dependsOn.map((d) => byName.get(d.name)).filter((t): t is FleetService => t !== undefined && t.stage === service.stage).map((t) => t.name);
}

/** The first cycle met walking the services in file order, as a path that ends where it starts. */
function findCycle(services: readonly FleetService[], byName: ReadonlyMap<string, FleetService>): string[] | undefined {
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    const at = stack.indexOf(name);
    if (at >= 0) return [...stack.slice(at), name];
    if (done.has(name)) return undefined;
    stack.push(name);
    for (const next of sameStageDependencies(byName.get(name)!, byName)) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    done.add(name);
    return undefined;
  };
  for (const service of services) {
    const cycle = visit(service.name);
    if (cycle) return cycle;
  }
  return undefined;
}

/**
 * Orders one stage so that dependencies come first; among services free to start, the file's order wins, so a
 * stage without internal dependencies keeps the file's order.
 */
function orderStage(services: readonly FleetService[], byName: ReadonlyMap<string, FleetService>): string[] {
  const placed = new Set<string>();
  const order: string[] = [];
  while (order.length < services.length) {
    const next = services.find((s) => !placed.has(s.name) && sameStageDependencies(s, byName).every((d) => placed.has(d)));
    // findCycle ran first, so some service is always free.
    placed.add(next!.name);
    order.push(next!.name);
  }
  return order;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Plans the launch of a fleet in the seed's order: infra, core, federation, domain, compliance, puabo, vsuite,
 * extended. Each stage is one batch except extended, which is split into batches of `batchSize` (default 25).
 * Inside a stage, services come in the file's order, moved only where a `depends_on` in the same stage asks for
 * its dependency to start first. A batch is started together; a dependency inside the same batch is honoured by
 * the executor waiting on its condition, as compose does.
 *
 * The whole fleet is checked, whatever `onlyStage` is, because a launch of any part of an invalid file is a
 * launch of an invalid file.
 * @throws PlanError for a dependency on an unknown service or on a later stage, or a cycle.
 * @throws TypeError for a `batchSize` that is not an integer from 1 up.
 */
export function planLaunch(fleet: Fleet, options: PlanOptions = {}): LaunchPlan {
  const { batchSize = DEFAULT_BATCH_SIZE, onlyStage, withDeps = false } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new TypeError(`Expected \`batchSize\` to be an integer from 1 up; got ${batchSize}`);

  const byName = new Map(fleet.services.map((s) => [s.name, s]));
  checkDependencies(fleet, byName);

  const stages: PlanStage[] = [];
  for (const stage of STAGES) {
    const members = fleet.services.filter((s) => s.stage === stage);
    const cycle = findCycle(members, byName);
    if (cycle) {
      throw new PlanError(`cycle found: ${cycle.join(' -> ')}`, cycle, [`Stage ${stage} cannot start: remove one of these depends_on entries.`]);
    }
    if (members.length === 0) continue;
    const order = orderStage(members, byName);
    stages.push({ stage, batches: stage === BATCHED_STAGE ? chunk(order, batchSize) : [order] });
  }

  if (onlyStage === undefined) return { stages };
  const last = stageIndex(onlyStage);
  return { stages: stages.filter((s) => (withDeps ? stageIndex(s.stage) <= last : s.stage === onlyStage)) };
}
