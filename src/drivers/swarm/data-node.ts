/**
 * Whether the node that holds a project's data on a swarm can hold it now. PostgreSQL's named volume is local to
 * one node, and Swarm moves tasks but never volumes: PostgreSQL and Redis are pinned to the node labelled as the
 * project's data node (see dataNodeLabel in service-spec.ts). When that node is drained, paused or down, their tasks
 * stay pending, and pinning them anywhere else would start PostgreSQL empty. The decision is pure, unit-tested with
 * hand-written node lists; the Swarm driver lists the nodes and refuses before it changes anything.
 */
import type { SwarmNodeInfo } from '../../docker/types.ts';
import { CodedError } from '../../util/coded-error.ts';

/** What the decision reads of a node (`docker node ls`). */
export type DataNodeView = Pick<SwarmNodeInfo, 'id' | 'hostname' | 'availability' | 'state' | 'labels'>;

/** Why the project's data cannot be placed, or kept, where it must be. */
export type DataNodeProblem =
  /**
   * The data node (or, with `firstTime`, the node launch runs on, which would become it) is not active (drained,
   * paused) or not ready (down, disconnected).
   */
  | { kind: 'unavailable'; node: string; availability: string; state: string; firstTime: boolean }
  /** Several nodes carry the label: PostgreSQL could start on one without its volume, empty. */
  | { kind: 'several'; nodes: string[] };

const name = (node: DataNodeView): string => node.hostname || node.id.slice(0, 12);

/** A node where Swarm places new tasks and runs them: availability `active`, state `ready`. */
export function canHoldData(node: Pick<SwarmNodeInfo, 'availability' | 'state'>): boolean {
  return node.availability === 'active' && node.state === 'ready';
}

/**
 * Whether the project's data can stay (or be put) where its node `label` says. With no node labelled yet, the data
 * goes on the node launch runs on (`localNodeId`): its volumes are created, and removed by `down --volumes`,
 * through this engine, so another node is not chosen in its stead. Returns undefined when all is well.
 */
export function dataNodeProblem(nodes: readonly DataNodeView[], label: string, localNodeId: string): DataNodeProblem | undefined {
  const labelled = nodes.filter((n) => n.labels[label] === 'true');
  if (labelled.length > 1) return { kind: 'several', nodes: labelled.map(name).sort() };
  const firstTime = labelled.length === 0;
  const node = labelled[0] ?? nodes.find((n) => n.id === localNodeId);
  // A manager always lists itself; a node it cannot see is one it cannot put anything on.
  if (node === undefined) return { kind: 'unavailable', node: localNodeId.slice(0, 12), availability: 'unknown', state: 'unknown', firstTime };
  if (canHoldData(node)) return undefined;
  return { kind: 'unavailable', node: name(node), availability: node.availability, state: node.state, firstTime };
}

/** `drained`, `paused and down`, `in state unknown`: what keeps a node from holding the data, in words. */
export function nodeCondition(node: Pick<SwarmNodeInfo, 'availability' | 'state'>): string {
  const words: string[] = [];
  if (node.availability === 'drain') words.push('drained');
  else if (node.availability === 'pause') words.push('paused');
  else if (node.availability !== 'active') words.push(`of availability ${node.availability || 'unknown'}`);
  if (node.state === 'down' || node.state === 'disconnected') words.push(node.state);
  else if (node.state !== 'ready') words.push(`in state ${node.state || 'unknown'}`);
  return words.join(' and ');
}

/**
 * One sentence for `status` about a data node that cannot hold the data, or undefined when there is nothing to say:
 * before the first launch (no node labelled) the data is nowhere yet.
 */
export function dataNodeNote(problem: DataNodeProblem | undefined, label: string): string | undefined {
  if (problem === undefined) return undefined;
  if (problem.kind === 'several') return `The nodes ${problem.nodes.join(', ')} all carry the data node label ${label}=true: launch refuses (exit 30) until only the node that holds the data does.`;
  if (problem.firstTime) return undefined;
  const back = problem.availability === 'active' ? 'its engine is back' : `it is active again (docker node update --availability active ${problem.node})`;
  return `Data node ${problem.node} (label ${label}=true) is ${nodeCondition(problem)}: PostgreSQL's volume is there, so PostgreSQL and Redis cannot run until ${back}; launch refuses meanwhile (exit 30).`;
}

/**
 * The project's data node cannot hold its data (see {@link dataNodeProblem}); thrown by the Swarm driver before it
 * creates or changes anything.
 */
export class DataNodeUnavailableError extends CodedError {
  override readonly name = 'DataNodeUnavailableError';
  readonly problem: DataNodeProblem;

  /** `volumes`: the names of the project's volumes, for the message (PostgreSQL's, `<project>_pgdata`). */
  constructor(problem: DataNodeProblem, project: string, label: string, volumes: readonly string[]) {
    const held = volumes.length === 0 ? 'its named volumes' : `the volume${volumes.length === 1 ? '' : 's'} ${volumes.join(', ')}`;
    const vol = volumes[0] ?? `${project}_pgdata`;
    if (problem.kind === 'several') {
      super(
        `The nodes ${problem.nodes.join(', ')} all carry the label ${label}=true of project ${project}'s data node. PostgreSQL and Redis are placed on a node with that label, and PostgreSQL's data (${held}) is local to one node: on another it would start empty. Nothing was changed.`,
        'DATA_NODE_UNAVAILABLE',
        [
          `Find the node that holds the data (on each node's engine: docker volume ls --filter name=${vol}), then take the label off the others: docker node update --label-rm ${label} NODE`,
          'Then run launch again.',
        ],
      );
    } else {
      const condition = nodeCondition(problem);
      const detail = `(availability ${problem.availability}, state ${problem.state})`;
      const active = problem.availability === 'active' ? [] : [`Make the node active again: docker node update --availability active ${problem.node}`];
      const ready = problem.state === 'ready' ? [] : [`Bring its engine back (dockerd on ${problem.node}) until docker node ls shows it Ready.`];
      if (problem.firstTime) {
        super(
          `No node holds project ${project}'s data yet, and this node, ${problem.node}, where launch puts it (its volumes are created and removed through this engine), is ${condition} ${detail}: Swarm would place PostgreSQL and Redis nowhere, and their tasks would stay pending. Nothing was changed.`,
          'DATA_NODE_UNAVAILABLE',
          [...active, ...ready, 'Or run launch on another manager, one that is active and ready (DOCKER_HOST pointing at its engine): the data goes on that node.'],
        );
      } else {
        super(
          `Node ${problem.node} holds project ${project}'s data (node label ${label}=true), and it is ${condition} ${detail}. PostgreSQL's data is in ${held}, local to that node, and Swarm cannot move a volume: PostgreSQL and Redis are placed on that node only, so their tasks stay pending until it is back, and placed anywhere else PostgreSQL would start empty. Nothing was changed.`,
          'DATA_NODE_UNAVAILABLE',
          [
            ...active,
            ...ready,
            `To move the data to another node on purpose: n3xus down --driver swarm (keeps the volume); copy ${vol} out on ${problem.node}'s engine (docker run --rm -v ${vol}:/v IMAGE tar -C /v -cf - . > data.tar), create it on the new node's engine with the label n3xus.project=${project} and copy it in (… tar -C /v -xf - < data.tar); move the label (docker node update --label-rm ${label} ${problem.node}, then --label-add ${label}=true NEW-NODE); launch again.`,
          ],
        );
      }
    }
    this.problem = problem;
  }
}
