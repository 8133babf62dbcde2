/** What the cluster benches share: the CLI run inside the manager's namespace, and one archive of every image. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../src/util/project-root.ts';
import type { Cluster } from './cluster.ts';

const root = projectRoot();

/** The CLI; `inside` runs it in the manager's namespace, against the manager's engine. */
export function cli(args: string[], inside?: Cluster): { code: number | null; out: string; ms: number } {
  const started = performance.now();
  const argv = [process.execPath, path.join(root, 'bin/run.js'), ...args];
  const r = inside === undefined
    ? spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', cwd: root, env: { ...process.env, CI: 'true' } })
    : spawnSync('ip', ['netns', 'exec', inside.nodes[0]!.netns, ...argv], { encoding: 'utf8', cwd: root, env: { ...process.env, DOCKER_HOST: inside.managerHost, CI: 'true' } });
  return { code: r.status, out: `${r.stdout}${r.stderr}`, ms: performance.now() - started };
}

export function must(run: { code: number | null; out: string }, what: string): void {
  if (run.code !== 0) throw new Error(`${what} exited ${run.code}:\n${run.out.split('\n').slice(-25).join('\n')}`);
}

/**
 * One archive in `dir` of every n3xus image on the host's engine (the fleet's, which `images save` writes, and
 * the CLI's, which verify --driver swarm runs in the network), or of `only`; made with docker save.
 */
export function saveEveryImage(dir: string, only?: readonly string[]): string {
  const file = path.join(dir, 'all.tar');
  const tags =
    only ??
    spawnSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', 'reference=n3xus/*'], { encoding: 'utf8' })
      .stdout.split('\n')
      // The registry's own image goes to one node by images registry, not to every node with the fleet.
      .filter((t) => t !== '' && !t.endsWith(':<none>') && !t.startsWith('n3xus/registry:'));
  must({ code: spawnSync('docker', ['save', '-o', file, ...tags]).status, out: '' }, 'docker save');
  return file;
}
