/**
 * Writes rendered manifests (see ManifestFile in kubernetes.ts) to a directory: each file as YAML documents, the
 * same objects always the same bytes (keys in the order the renderer builds them). The file of secrets is owner-only.
 * A file an earlier render wrote and this one does not (a service since removed) is deleted, so that `kubectl apply
 * -f DIR` never applies what the fleet no longer has; files of anyone else are left alone.
 */
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { writeFileAtomic } from '../secrets/secrets-file.ts';
import { RenderError, type ManifestFile } from './kubernetes.ts';

/** The first line of every file `render` writes: how it knows its own files again. */
export const RENDERED_HEADER = '# Rendered by `n3xus render kubernetes` from the fleet file; do not edit: render again.';

/** What a write did. */
export interface WrittenManifests {
  dir: string;
  files: { name: string; objects: number; bytes: number }[];
  /** Files an earlier render wrote that this one has not, deleted. */
  removed: string[];
  objects: number;
  bytes: number;
}

/**
 * One file's text: the header, then each object as a YAML document. Written as YAML 1.1 quotes it (`"no"`, `"yes"`),
 * because kubectl reads YAML 1.1, where a bare `no` in Redis's arguments would be the boolean false.
 */
export function serializeManifestFile(file: ManifestFile): string {
  // No anchors and aliases: each object reads whole, as kubectl get prints it.
  const documents = file.objects.map((object) => `---\n${stringify(object, { lineWidth: 0, version: '1.1', aliasDuplicateObjects: false })}`);
  const note = file.secret ? ['# Secret values (base64): keep this file out of version control.'] : [];
  return [RENDERED_HEADER, ...note, ''].join('\n') + documents.join('');
}

/**
 * Checks `dir` can take the output before anything else is done: a path that exists and is not a directory is an
 * INVALID_ARGUMENT error naming it.
 */
export function checkOutputDir(dir: string): void {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new RenderError(`-o ${dir} cannot be used: ${(error as Error).message}.`, 'INVALID_ARGUMENT', ['Pass a directory to write the manifests to, e.g. -o k8s']);
  }
  if (!isDirectory) throw new RenderError(`-o ${dir} is a file, not a directory: the manifests are several files.`, 'INVALID_ARGUMENT', ['Pass a directory to write the manifests to, e.g. -o k8s']);
}

function renderedBefore(dir: string): string[] {
  return readdirSync(dir).filter((name) => {
    if (!name.endsWith('.yaml')) return false;
    try {
      return readFileSync(path.join(dir, name), 'utf8').startsWith(RENDERED_HEADER);
    } catch {
      return false;
    }
  });
}

/** Writes `files` into `dir` (made when missing), each whole or not at all; secrets 0600, the rest 0644. */
export function writeManifests(dir: string, files: readonly ManifestFile[]): WrittenManifests {
  checkOutputDir(dir);
  const written: WrittenManifests['files'] = [];
  for (const file of files) {
    const text = serializeManifestFile(file);
    writeFileAtomic(path.join(dir, file.name), text, file.secret ? 0o600 : 0o644);
    written.push({ name: file.name, objects: file.objects.length, bytes: Buffer.byteLength(text) });
  }
  const names = new Set(files.map((f) => f.name));
  const removed = renderedBefore(dir).filter((name) => !names.has(name));
  for (const name of removed) rmSync(path.join(dir, name), { force: true });
  return { dir, files: written, removed, objects: written.reduce((n, f) => n + f.objects, 0), bytes: written.reduce((n, f) => n + f.bytes, 0) };
}
