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
 * The seed's phase numbers and the stage each falls in (core runtime 3-4, federation 5-6, domain 7-12). The seed
 * names no phase 1 or 2: n3xus reads them as the infrastructure that comes before phase 3 (PostgreSQL and Redis).
 * The other stages (compliance, puabo, vsuite, extended) have no phase number.
 */
export const SEED_PHASES: Readonly<Record<number, Stage>> = {
  1: 'infra',
  2: 'infra',
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
export const FIRST_PHASE = 1;
export const LAST_PHASE = 12;

/** What `--phase` selects: one stage by name, or seed phases `from` to `to` (one phase when equal). */
export type PhaseSelection = { kind: 'stage'; stage: Stage } | { kind: 'phases'; from: number; to: number };

/** How a selection is named in messages and in `--phase`: `federation`, `5`, `5-6`. */
export function selectionText(selection: PhaseSelection): string {
  if (selection.kind === 'stage') return selection.stage;
  return selection.from === selection.to ? String(selection.from) : `${selection.from}-${selection.to}`;
}

/** `phase 5`, `phases 5-6`, `stage federation`. */
export function selectionLabel(selection: PhaseSelection): string {
  if (selection.kind === 'stage') return `stage ${selection.stage}`;
  return selection.from === selection.to ? `phase ${selection.from}` : `phases ${selection.from}-${selection.to}`;
}

/**
 * A service's seed phase: its `n3xus.phase` label; PostgreSQL and Redis (the infra stage, which has none) count as
 * phases 1-2, so a service of the infra stage is in both.
 */
function inPhases(service: FleetService, from: number, to: number): boolean {
  if (service.phase !== undefined) return service.phase >= from && service.phase <= to;
  return service.stage === 'infra' && SEED_PHASES[from] === 'infra';
}

/** Whether `--phase <selection>` starts `service`. */
export function selects(selection: PhaseSelection, service: FleetService): boolean {
  return selection.kind === 'stage' ? service.stage === selection.stage : inPhases(service, selection.from, selection.to);
}

/**
 * Whether `service` comes before the selection, so must be healthy first (or is started too with `--with-deps`):
 * every service of an earlier stage, and for phases, the services of the same stage with a lower phase.
 */
export function precedes(selection: PhaseSelection, service: FleetService): boolean {
  if (selects(selection, service)) return false;
  const stage = selection.kind === 'stage' ? selection.stage : SEED_PHASES[selection.from]!;
  if (stageIndex(service.stage) < stageIndex(stage)) return true;
  return selection.kind === 'phases' && service.stage === stage && service.phase !== undefined && service.phase < selection.from;
}

export interface PlanOptions {
  /** Services per batch of the extended stage (default {@link DEFAULT_BATCH_SIZE}); an integer from 1 up. */
  batchSize?: number;
  /** Plan only these services (`--phase`). */
  only?: PhaseSelection;
  /** With {@link only}: every service before them too (see {@link precedes}), so that what they rely on starts first. */
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

/** `1-2 infra; 3-4 core; …`: the phases of each stage, read from {@link SEED_PHASES}. */
const phasesByStage = STAGES.flatMap((stage) => {
  const numbers = Object.keys(SEED_PHASES).map(Number).filter((n) => SEED_PHASES[n] === stage);
  return numbers.length === 0 ? [] : [`${numbers[0]}-${numbers.at(-1)} ${stage}${stage === 'infra' ? ': PostgreSQL and Redis' : ''}`];
}).join('; ');

const PHASE_VALUES = `a seed phase ${FIRST_PHASE}-${LAST_PHASE} (${phasesByStage}), a range of them such as 5-6, or a stage name: ${STAGES.join(', ')}`;

/** A `--phase` value that is neither a seed phase (or a range of them) nor a stage name. */
export class UnknownStageError extends Error {
  override readonly name = 'UnknownStageError';
  readonly code = 'UNKNOWN_STAGE';
  readonly input: string;
  readonly suggestions: readonly string[];

  constructor(input: string, hint: string | undefined) {
    super(`--phase ${JSON.stringify(input)} is not a phase or a stage${hint ? ` (${hint})` : ''}. Valid values: ${PHASE_VALUES}.`);
    this.input = input;
    this.suggestions = ['For example: --phase 5 (federation-spine, identity-registry), --phase 5-6, --phase federation.', 'See the stages and phases in order with --dry-run.'];
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
 * Reads `--phase` as the user gives it: a seed phase number 1-12 (as the seed and the catalog number them; also
 * `phase-5`, `p5`), a range of them (`5-6`), or a stage name in any case. A bare number is always a seed phase.
 * @throws UnknownStageError naming the valid values.
 */
export function parsePhase(input: string): PhaseSelection {
  const text = input.trim().toLowerCase();
  const byName = STAGES.find((s) => s === text);
  if (byName) return { kind: 'stage', stage: byName };
  const phase = (digits: string): number => {
    const n = Number(digits);
    if (n < FIRST_PHASE || n > LAST_PHASE) throw new UnknownStageError(input, `the seed's phases are ${FIRST_PHASE} to ${LAST_PHASE}`);
    return n;
  };
  const single = /^(?:phase|p)?[-_ ]?(\d+)$/.exec(text)?.[1];
  if (single !== undefined && (/^\d+$/.test(text) || /^(?:phase|p)/.test(text))) {
    const n = phase(single);
    return { kind: 'phases', from: n, to: n };
  }
  const range = /^(?:phases?[-_ ]?)?(\d+)\s*-\s*(\d+)$/.exec(text);
  if (range) {
    const [from, to] = [phase(range[1]!), phase(range[2]!)];
    if (from > to) throw new UnknownStageError(input, `a range goes from the lower phase to the higher: ${to}-${from}`);
    return { kind: 'phases', from, to };
  }
  const near = STAGES.map((s) => [s, editDistance(text, s)] as const).filter(([, d]) => d <= 2).sort((a, b) => a[1] - b[1])[0];
  throw new UnknownStageError(input, near ? `did you mean "${near[0]}"?` : undefined);
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
 * The whole fleet is checked, whatever `only` is, because a launch of any part of an invalid file is a
 * launch of an invalid file.
 * @throws PlanError for a dependency on an unknown service or on a later stage, or a cycle.
 * @throws TypeError for a `batchSize` that is not an integer from 1 up.
 */
export function planLaunch(fleet: Fleet, options: PlanOptions = {}): LaunchPlan {
  const { batchSize = DEFAULT_BATCH_SIZE, only, withDeps = false } = options;
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

  if (only === undefined) return { stages };
  return restrictPlan({ stages }, new Set(fleet.services.filter((s) => selects(only, s) || (withDeps && precedes(only, s))).map((s) => s.name)));
}

/** The plan cut to the services in `wanted`, in the same order; stages and batches left empty are dropped. */
export function restrictPlan(plan: LaunchPlan, wanted: ReadonlySet<string>): LaunchPlan {
  return {
    stages: plan.stages
      .map((s) => ({ stage: s.stage, batches: s.batches.map((batch) => batch.filter((name) => wanted.has(name))).filter((batch) => batch.length > 0) }))
      .filter((s) => s.batches.length > 0),
  };
}
