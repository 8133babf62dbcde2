/**
 * oclif's `command_not_found` hook: `n3xus render <target>` with a target n3xus does not render gets one message
 * naming the targets it does render (exit 22, INVALID_ARGUMENT; with --json, as the JSON error every command prints);
 * any other unknown command gets oclif's own error.
 */
import { Errors, type Hook } from '@oclif/core';
import { EXIT_CODES } from '../cli/base-command.ts';

const hook: Hook<'command_not_found'> = async function (options) {
  const [topic, target] = options.id.split(':');
  if (topic === 'render' && target !== undefined) {
    const targets = options.config.commands.filter((c) => c.id.startsWith('render:')).map((c) => c.id.slice('render:'.length)).sort();
    const message = `n3xus cannot render "${target}": the targets are ${targets.join(', ')}.`;
    const suggestions = targets.map((t) => `n3xus render ${t} -o DIR`);
    // No command ran, so no command prints the JSON envelope: printed here, as the base command prints it.
    if (options.argv?.includes('--json')) {
      process.stdout.write(`${JSON.stringify({ error: { name: 'CLIError', code: 'INVALID_ARGUMENT', message, suggestions } }, null, 2)}\n`);
      throw new Errors.ExitError(EXIT_CODES.INVALID_ARGUMENT);
    }
    throw new Errors.CLIError(message, { exit: EXIT_CODES.INVALID_ARGUMENT, code: 'INVALID_ARGUMENT', suggestions });
  }
  throw new Errors.CLIError(`command ${options.id} not found`);
};

export default hook;
