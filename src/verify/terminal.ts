/**
 * The terminal side of verify's output: colour only where the stream takes it (a TTY, no NO_COLOR; FORCE_COLOR
 * forces it), and a live progress line on stderr only when stderr is a TTY, so logs and pipes get clean text.
 */
import { styleText } from 'node:util';
import type { VerifyProgress } from './verify.ts';
import type { Paint } from './summary.ts';

/** A {@link Paint} for `stream`, honouring NO_COLOR, FORCE_COLOR and whether it is a terminal. */
export function paintFor(stream: NodeJS.WriteStream): Paint {
  const style = (format: Parameters<typeof styleText>[0]) => (text: string) => styleText(format, text, { stream, validateStream: true });
  return { pass: style('green'), fail: style('red'), warn: style('yellow'), dim: style('dim'), bold: style('bold') };
}

/** A one-line live progress display; does nothing when `stream` is not a terminal. */
export function createProgress(stream: NodeJS.WriteStream): { update: (event: VerifyProgress) => void; done: () => void } {
  if (!stream.isTTY) return { update: () => {}, done: () => {} };
  let failing = 0;
  let line = '';
  const draw = (text: string) => {
    line = text;
    stream.write(`\r\x1b[2K${text}`);
  };
  return {
    update(event) {
      if (event.type === 'start') draw(`verifying ${event.total} targets on ${event.host}…`);
      else if (event.type === 'target') {
        if (!event.passed) failing += 1;
        draw(`verifying ${event.done}/${event.total} targets${failing > 0 ? ` (${failing} with failures)` : ''}…`);
      } else {
        const step = event.step === 'inter-service' ? 'inter-service flows' : event.step === 'containers' ? 'container state' : 'latency burst';
        if (line !== '') draw(`${line.replace(/ · .*$/, '').replace(/…$/, '')} · ${step}…`);
      }
    },
    done() {
      if (line !== '') stream.write('\r\x1b[2K');
      line = '';
    },
  };
}
