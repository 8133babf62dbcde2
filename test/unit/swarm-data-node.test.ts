import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/cli/base-command.ts';
import { canHoldData, dataNodeNote, dataNodeProblem, DataNodeUnavailableError, nodeCondition, type DataNodeView } from '../../src/drivers/swarm/data-node.ts';
import { renderStatus, type FleetStatus } from '../../src/launch/status.ts';

const LABEL = 'n3xus.p.data';
const node = (id: string, over: Partial<DataNodeView> = {}): DataNodeView => ({ id, hostname: `node-${id}`, availability: 'active', state: 'ready', labels: {}, ...over });
const data = { [LABEL]: 'true' };

describe('dataNodeProblem', () => {
  it('is none when the labelled node is active and ready', () => {
    expect(dataNodeProblem([node('a', { labels: data }), node('b', { availability: 'drain' })], LABEL, 'b')).toBeUndefined();
  });

  it('is none the first time when the node launch runs on is active and ready (launch labels it)', () => {
    expect(dataNodeProblem([node('a'), node('b', { state: 'down' })], LABEL, 'a')).toBeUndefined();
  });

  it.each([
    ['drain', 'ready'],
    ['pause', 'ready'],
    ['active', 'down'],
    ['active', 'disconnected'],
    ['active', 'unknown'],
    ['drain', 'down'],
  ])('names the labelled node when it is %s and %s, wherever launch runs', (availability, state) => {
    const nodes = [node('a'), node('b', { availability, state, labels: data })];
    expect(dataNodeProblem(nodes, LABEL, 'a')).toEqual({ kind: 'unavailable', node: 'node-b', availability, state, firstTime: false });
  });

  it('does not take another node in its stead when the data node cannot hold the data', () => {
    const nodes = [node('a'), node('b', { availability: 'drain', labels: data }), node('c')];
    expect(dataNodeProblem(nodes, LABEL, 'a')?.kind).toBe('unavailable');
  });

  it('refuses the first time when the node launch runs on is drained, rather than choosing another', () => {
    const nodes = [node('a', { availability: 'drain' }), node('b'), node('c')];
    expect(dataNodeProblem(nodes, LABEL, 'a')).toEqual({ kind: 'unavailable', node: 'node-a', availability: 'drain', state: 'ready', firstTime: true });
  });

  it('refuses the first time when the node launch runs on is not among the nodes listed', () => {
    expect(dataNodeProblem([node('b')], LABEL, 'abcdefabcdef0123')).toEqual({ kind: 'unavailable', node: 'abcdefabcdef', availability: 'unknown', state: 'unknown', firstTime: true });
  });

  it('refuses when several nodes carry the label, naming them sorted, even if all are active', () => {
    const nodes = [node('c', { labels: data }), node('a'), node('b', { labels: data })];
    expect(dataNodeProblem(nodes, LABEL, 'a')).toEqual({ kind: 'several', nodes: ['node-b', 'node-c'] });
  });

  it('reads only the value "true" as the label, and only the project\'s own label', () => {
    const nodes = [node('a', { labels: { [LABEL]: 'false', 'n3xus.other.data': 'true' } }), node('b', { availability: 'drain' })];
    expect(dataNodeProblem(nodes, LABEL, 'b')).toMatchObject({ kind: 'unavailable', node: 'node-b', firstTime: true });
    expect(dataNodeProblem(nodes, LABEL, 'a')).toBeUndefined();
  });

  it('names a node without a hostname by its short ID', () => {
    const nodes = [node('0123456789abcdef', { hostname: '', availability: 'pause', labels: data })];
    expect(dataNodeProblem(nodes, LABEL, 'x')).toMatchObject({ node: '0123456789ab' });
  });
});

describe('canHoldData and nodeCondition', () => {
  it.each([
    ['active', 'ready', true, ''],
    ['drain', 'ready', false, 'drained'],
    ['pause', 'ready', false, 'paused'],
    ['active', 'down', false, 'down'],
    ['active', 'disconnected', false, 'disconnected'],
    ['drain', 'down', false, 'drained and down'],
    ['active', 'unknown', false, 'in state unknown'],
    ['', '', false, 'of availability unknown and in state unknown'],
  ])('%s, %s: can hold data %s, condition "%s"', (availability, state, can, words) => {
    expect(canHoldData({ availability, state })).toBe(can);
    expect(nodeCondition({ availability, state })).toBe(words);
  });
});

describe('DataNodeUnavailableError', () => {
  it('exits with its own code, saying which node, its state, where the data is, and that nothing was changed', () => {
    const error = new DataNodeUnavailableError({ kind: 'unavailable', node: 'n1', availability: 'drain', state: 'ready', firstTime: false }, 'p', LABEL, ['p_pgdata']);
    expect(error.code).toBe('DATA_NODE_UNAVAILABLE');
    expect(EXIT_CODES[error.code]).toBe(30);
    expect(error.name).toBe('DataNodeUnavailableError');
    expect(error.message).toBe(
      "Node n1 holds project p's data (node label n3xus.p.data=true), and it is drained (availability drain, state ready). PostgreSQL's data is in the volume p_pgdata, local to that node, and Swarm cannot move a volume: PostgreSQL and Redis are placed on that node only, so their tasks stay pending until it is back, and placed anywhere else PostgreSQL would start empty. Nothing was changed.",
    );
    expect(error.suggestions[0]).toBe('Make the node active again: docker node update --availability active n1');
    expect(error.suggestions[1]).toMatch(/^To move the data to another node on purpose: n3xus down --driver swarm .*p_pgdata.*--label-rm n3xus\.p\.data n1.*--label-add n3xus\.p\.data=true NEW-NODE/);
    expect(error.suggestions).toHaveLength(2);
  });

  it('for a node that is down, says to bring its engine back, and not to make it active when it is', () => {
    const error = new DataNodeUnavailableError({ kind: 'unavailable', node: 'n1', availability: 'active', state: 'down', firstTime: false }, 'p', LABEL, []);
    expect(error.message).toContain('it is down (availability active, state down)');
    expect(error.message).toContain('in its named volumes');
    expect(error.suggestions[0]).toBe('Bring its engine back (dockerd on n1) until docker node ls shows it Ready.');
    expect(error.suggestions.join(' ')).not.toContain('--availability active');
    expect(error.suggestions.join(' ')).toContain('p_pgdata');
  });

  it('the first time, says the data would go on this node and offers another manager', () => {
    const error = new DataNodeUnavailableError({ kind: 'unavailable', node: 'n1', availability: 'pause', state: 'ready', firstTime: true }, 'p', LABEL, ['p_pgdata']);
    expect(error.message).toMatch(/^No node holds project p's data yet, and this node, n1, where launch puts it .* is paused \(availability pause, state ready\).*pending\. Nothing was changed\.$/);
    expect(error.suggestions).toEqual([
      'Make the node active again: docker node update --availability active n1',
      'Or run launch on another manager, one that is active and ready (DOCKER_HOST pointing at its engine): the data goes on that node.',
    ]);
  });

  it('for several labelled nodes, names them and says how to keep the label on one', () => {
    const error = new DataNodeUnavailableError({ kind: 'several', nodes: ['n1', 'n2'] }, 'p', LABEL, ['p_pgdata']);
    expect(error.message).toMatch(/^The nodes n1, n2 all carry the label n3xus\.p\.data=true .* on another it would start empty\. Nothing was changed\.$/);
    expect(error.suggestions[0]).toBe('Find the node that holds the data (on each node\'s engine: docker volume ls --filter name=p_pgdata), then take the label off the others: docker node update --label-rm n3xus.p.data NODE');
  });
});

describe('dataNodeNote', () => {
  it('says nothing when all is well, or before the first launch', () => {
    expect(dataNodeNote(undefined, LABEL)).toBeUndefined();
    expect(dataNodeNote({ kind: 'unavailable', node: 'n1', availability: 'drain', state: 'ready', firstTime: true }, LABEL)).toBeUndefined();
  });

  it('names a drained data node and how to make it active again', () => {
    expect(dataNodeNote({ kind: 'unavailable', node: 'n1', availability: 'drain', state: 'ready', firstTime: false }, LABEL)).toBe(
      "Data node n1 (label n3xus.p.data=true) is drained: PostgreSQL's volume is there, so PostgreSQL and Redis cannot run until it is active again (docker node update --availability active n1); launch refuses meanwhile (exit 30).",
    );
  });

  it('for a data node that is down, waits for its engine', () => {
    expect(dataNodeNote({ kind: 'unavailable', node: 'n1', availability: 'active', state: 'down', firstTime: false }, LABEL)).toContain('is down: PostgreSQL\'s volume is there, so PostgreSQL and Redis cannot run until its engine is back;');
  });

  it('names several labelled nodes', () => {
    expect(dataNodeNote({ kind: 'several', nodes: ['n1', 'n2'] }, LABEL)).toBe('The nodes n1, n2 all carry the data node label n3xus.p.data=true: launch refuses (exit 30) until only the node that holds the data does.');
  });
});

describe('renderStatus with the driver\'s notes', () => {
  it('prints each note right under the summary line', () => {
    const note = dataNodeNote({ kind: 'unavailable', node: 'n1', availability: 'drain', state: 'ready', firstTime: false }, LABEL)!;
    const status: FleetStatus = {
      project: 'p',
      healthy: 0,
      total: 1,
      notes: [note],
      services: [{ service: 'db', stage: 'infra', state: 'starting', healthy: false, detail: 'refused', port: 25432, configChanged: false }],
    };
    expect(renderStatus(status).split('\n').slice(-2)).toEqual(['0 of 1 healthy (project p)', note]);
  });
});
