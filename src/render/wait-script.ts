/**
 * The program an init container runs to hold its pod back until what the pod needs answers: each argument is
 * `http://host:port/path` (ready when it answers 200) or `tcp://host:port` (ready when it accepts a connection). It
 * asks every 2 s, each attempt bounded by 3 s, says every 30 s what it still waits for, and exits 0 once all have
 * answered; it never gives up (the kubelet's restart and the operator's eyes bound it, as a stage wait of launch
 * would). It runs with the node of the pod's own image, from a ConfigMap mounted at {@link WAIT_SCRIPT_DIR}, so the
 * init container needs no image of its own; it uses node's built-in modules only.
 */
export const WAIT_SCRIPT = `import http from 'node:http';
import net from 'node:net';
const pending = new Set(process.argv.slice(2));
const started = Date.now();
const attempt = (target) => new Promise((resolve) => {
  const url = new URL(target);
  const done = (ok, handle) => { handle?.destroy(); resolve(ok); };
  if (url.protocol === 'tcp:') {
    const socket = net.connect({ host: url.hostname, port: Number(url.port), timeout: 3000 });
    socket.once('connect', () => done(true, socket)).once('error', () => done(false, socket)).once('timeout', () => done(false, socket));
  } else {
    const request = http.get(url, { timeout: 3000 }, (response) => { response.resume(); done(response.statusCode === 200); });
    request.once('error', () => done(false, request)).once('timeout', () => done(false, request));
  }
});
let said = 0;
while (pending.size > 0) {
  await Promise.all([...pending].map(async (target) => { if (await attempt(target)) pending.delete(target); }));
  if (pending.size === 0) break;
  const seconds = Math.round((Date.now() - started) / 1000);
  if (said === 0 || seconds - said >= 30) {
    said = Math.max(seconds, 1);
    console.log(\`waiting \${seconds} s for \${[...pending].join(' ')}\`);
  }
  await new Promise((resolve) => setTimeout(resolve, 2000));
}
console.log(\`ready after \${Math.round((Date.now() - started) / 1000)} s\`);
`;

/** Where init containers mount the ConfigMap that holds {@link WAIT_SCRIPT}, and its file name there. */
export const WAIT_SCRIPT_DIR = '/opt/n3xus-wait';
export const WAIT_SCRIPT_FILE = 'wait.mjs';

/** The argv of an init container that waits for `targets` with the image's own node (see {@link WAIT_SCRIPT}). */
export function waitCommand(targets: readonly string[]): string[] {
  return ['node', `${WAIT_SCRIPT_DIR}/${WAIT_SCRIPT_FILE}`, ...targets];
}
