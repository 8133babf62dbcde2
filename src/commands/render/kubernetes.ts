import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.ts';
import { fleetFlags } from '../../cli/fleet-flags.ts';
import { displayPath } from '../../util/display-path.ts';

/** What `render kubernetes --json` prints. */
export interface RenderKubernetesResult {
  dir: string;
  namespace: string;
  files: { name: string; objects: number; bytes: number }[];
  removed: string[];
  objects: number;
  bytes: number;
  /** The install's secrets file the values come from, when n3xus manages the fleet's secrets. */
  secretsFile?: string;
  /** The secrets file did not exist and was made by this render. */
  generatedSecrets: boolean;
  durationMs: number;
}

export default class RenderKubernetes extends BaseCommand {
  static override summary = 'Write the fleet as Kubernetes manifests, for kubectl apply -f DIR.';
  static override description = [
    'One directory of YAML files, applied in name order: the namespace (Pod Security "restricted"), the Secrets (the',
    "install's secrets, as launch gives them; the only file with secret values, written owner-only), NetworkPolicies",
    '(no ingress from outside the namespace; PostgreSQL and Redis from the fleet only), then per service a Deployment',
    '(a StatefulSet with a volume claim for PostgreSQL) and a ClusterIP Service named after it, and a Job that runs',
    '`n3xus verify --full` in the namespace once the fleet is ready. The stage order holds through init containers. The',
    "install's secrets file is read, or made when there is none, as launch makes it. Rendered only: nothing here talks",
    'to a cluster, and the output has not been run against one.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> -o k8s',
    '<%= config.bin %> <%= command.id %> -o k8s --namespace n3xus-staging && kubectl apply -f k8s',
  ];
  static override flags = {
    ...fleetFlags,
    output: Flags.string({ char: 'o', description: 'Directory to write the manifests to (made when missing).', required: true }),
    namespace: Flags.string({ char: 'n', description: 'Namespace of every object [default: the project].' }),
  };

  async run(): Promise<RenderKubernetesResult> {
    const { flags } = await this.parse(RenderKubernetes);
    const startedAt = performance.now();
    const [{ checkOutputDir, writeManifests }, { renderKubernetes }, { loadCommandFleet }, { ensureSecrets }, { readSecretValues }] = await Promise.all([
      import('../../render/write-manifests.ts'),
      import('../../render/kubernetes.ts'),
      import('../../cli/load-fleet.ts'),
      import('../../secrets/secrets-file.ts'),
      import('../../secrets/provision.ts'),
    ]);
    // Before the secrets file may be made: a bad -o changes nothing.
    checkOutputDir(flags.output);
    const { fleet, project } = await loadCommandFleet(flags);
    const namespace = flags.namespace ?? project;
    // The values launch would give the services: the install's secrets file, made now when there is none, so that
    // the cluster's PostgreSQL is initialised with the passwords every later render (and launch) gives again.
    const ensured = ensureSecrets(fleet, fleet.services, { create: true });
    const secretValues = readSecretValues(fleet, fleet.services, ensured.values);
    const files = renderKubernetes({ fleet, project, namespace, secretValues });
    const written = writeManifests(flags.output, files);
    const durationMs = Math.round(performance.now() - startedAt);
    const secretsFile = ensured.managed?.secretsFile;
    if (ensured.generated && secretsFile !== undefined) this.log(`Made the install's secrets file ${displayPath(secretsFile)} (mode 0600): the manifests' Secrets come from it.`);
    this.log(`Wrote ${written.objects} objects in ${written.files.length} files to ${displayPath(written.dir)} (${written.bytes} bytes, ${durationMs} ms), namespace ${namespace}.`);
    if (written.removed.length > 0) this.log(`Removed what an earlier render wrote for what the fleet no longer has: ${written.removed.join(', ')}.`);
    this.log(`Apply with: kubectl apply -f ${displayPath(written.dir)}   (the Secrets are in ${files.find((f) => f.secret)?.name ?? 'none'}: keep it out of version control)`);
    return { dir: written.dir, namespace, files: written.files, removed: written.removed, objects: written.objects, bytes: written.bytes, ...(secretsFile === undefined ? {} : { secretsFile }), generatedSecrets: ensured.generated, durationMs };
  }
}
