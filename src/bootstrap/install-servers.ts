/**
 * `bootstrap --fix` installing the process driver's servers: runs an {@link InstallPlan} once the user agreed, and
 * says what it installed, or shows the package manager's last lines when it failed.
 */
import { run, ProcessError } from '../process/run.ts';
import { LineTail } from '../util/line-tail.ts';
import type { InstallPlan } from './packages.ts';

/** Whether the user agreed to the install: `--yes`, an answer at the prompt, or why not. */
export type InstallConsent = { allowed: true } | { allowed: false; why: 'declined' | 'no-terminal' };

/** Lines of the package manager's output a failure shows. */
const FAILURE_LINES = 12;

/**
 * Runs `plan` (see installPlan) when `consent` allows it; rejects with one message otherwise: the command to run
 * for a plan n3xus does not run itself, the flag to give without a terminal, the package manager's last lines when
 * it failed. Resolves with what was installed, in a few words.
 */
export async function installServers(plan: InstallPlan, consent: InstallConsent, onLine: (line: string) => void = () => undefined): Promise<string> {
  if (plan.kind === 'print') throw new Error(`${plan.reason}. Run: ${plan.command}`);
  if (!consent.allowed) {
    throw new Error(
      consent.why === 'no-terminal'
        ? `not installed: bootstrap installs system packages only when told to, and there is no terminal to ask in. Run again with --yes to install ${plan.packages.join(' and ')} (${plan.command}).`
        : `not installed: you answered no. Install them yourself (${plan.command}), or run again with --yes.`,
    );
  }
  const tail = new LineTail(FAILURE_LINES);
  const [command, ...args] = plan.argv as [string, ...string[]];
  try {
    await run(command, args, {
      onLine: (line) => {
        tail.push(`${line}\n`);
        onLine(line);
      },
    });
  } catch (error) {
    if (!(error instanceof ProcessError)) throw error;
    const how = error.exitCode === null ? (error.signal === null ? 'could not start' : `was killed by ${error.signal}`) : `exited ${error.exitCode}`;
    const lines = tail.lines().filter((l) => l.trim() !== '');
    throw new Error(`${plan.command} ${how}${lines.length > 0 ? `; its last lines:\n${lines.join('\n')}` : ''}`, { cause: error });
  }
  return `installed ${plan.packages.join(' and ')} (${plan.command}; no system service started)`;
}
