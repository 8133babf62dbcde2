/**
 * What Swarm says about a fleet on a cluster of bench/cluster/cluster.ts, read from the nodes' engines: the tasks
 * of a project's services, and its PostgreSQL's data. For the cluster benches and tests (the CLI they run is
 * lib.ts's).
 */
import { nodeDocker, type Cluster, type ClusterNode } from './cluster.ts';

/** One task of a service, as the manager lists it (`docker service ps`). */
export interface TaskRow {
  service: string;
  node: string;
  desired: string;
  /** Its current state, in a word: `running`, `pending`, `shutdown`, … */
  state: string;
  /** Why it is where it is (Swarm's error, e.g. "no suitable node (…)"), or ''. */
  error: string;
}

/** The project's services (`<project>-<service>`) and their tasks whose desired state is running, from the manager. */
export function projectTasks(cluster: Cluster, project: string): { replicas: Map<string, number>; tasks: TaskRow[] } {
  const manager = cluster.nodes[0]!;
  const replicas = new Map<string, number>();
  for (const line of nodeDocker(manager, ['service', 'ls', '--filter', `label=n3xus.project=${project}`, '--format', '{{.Name}}\t{{.Replicas}}']).split('\n').filter(Boolean)) {
    const [name, counts] = line.split('\t');
    replicas.set(name!, Number(counts!.split('/')[1]));
  }
  if (replicas.size === 0) return { replicas, tasks: [] };
  const tasks = nodeDocker(manager, ['service', 'ps', '--no-trunc', '--filter', 'desired-state=running', '--format', '{{.Name}}\t{{.Node}}\t{{.DesiredState}}\t{{.CurrentState}}\t{{.Error}}', ...replicas.keys()])
    .split('\n')
    .filter(Boolean)
    .map((line): TaskRow => {
      const [name = '', node = '', desired = '', current = '', error = ''] = line.split('\t');
      return { service: name.replace(/\.\d+$/, ''), node, desired: desired.toLowerCase(), state: current.split(' ')[0]!.toLowerCase(), error: error.replace(/^"(.*)"$/, '$1') };
    });
  return { replicas, tasks };
}

/** `sql` run by psql in the project's PostgreSQL task on `node`, as its admin user; undefined when none runs there. */
export function psqlOnNode(node: ClusterNode, project: string, sql: string): string | undefined {
  const id = nodeDocker(node, ['ps', '-q', '--filter', `label=com.docker.swarm.service.name=${project}-postgres`], { allowFail: true }).split('\n')[0];
  if (!id) return undefined;
  return nodeDocker(node, ['exec', id, 'sh', '-c', 'PGPASSWORD="$(cat "$POSTGRES_PASSWORD_FILE")" psql -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAc "$0"', sql], { allowFail: true });
}
