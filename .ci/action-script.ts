/**
 * Prints the steps of action.yml as a bash script (see test/support/action-steps.ts):
 *   node --import tsx .ci/action-script.ts [name=value ...] > action.sh
 */
import { actionScript, readAction } from '../test/support/action-steps.ts';

const inputs = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const at = arg.indexOf('=');
    if (at < 1) throw new Error(`expected name=value, got "${arg}"`);
    return [arg.slice(0, at), arg.slice(at + 1)];
  }),
);
process.stdout.write(actionScript(readAction(), inputs));
