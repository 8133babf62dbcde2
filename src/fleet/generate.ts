import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../util/project-root.ts';
import { loadCatalog, type Catalog } from './catalog.ts';
import { renderCompose } from './compose.ts';
import { renderDockerfile, renderManifest } from './service-files.ts';

/** The repository's root directory. */
export const REPO_ROOT = projectRoot();

/** The compose file of the full fleet, relative to the repository root. */
export const COMPOSE_FILE = 'compose/docker-compose.full.yml';

/** Every file generated from the catalog, by path relative to the repository root, with its content. */
export function generatedFiles(catalog: Catalog): Map<string, string> {
  const files = new Map<string, string>();
  files.set(COMPOSE_FILE, renderCompose(catalog));
  for (const entry of catalog.services) {
    files.set(`services/${entry.name}/Dockerfile`, renderDockerfile(entry));
    files.set(`services/${entry.name}/package.json`, renderManifest(catalog, entry));
  }
  return files;
}

/** Writes the generated files that differ from what is on disk; returns the paths written. */
export function writeGeneratedFiles(root = REPO_ROOT, catalog = loadCatalog()): string[] {
  const written: string[] = [];
  for (const [path, content] of generatedFiles(catalog)) {
    const full = join(root, path);
    let current: string | undefined;
    try {
      current = readFileSync(full, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === content) continue;
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
    written.push(path);
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const written = writeGeneratedFiles();
  console.log(written.length === 0 ? 'Generated files are up to date.' : `Wrote ${written.length} file(s):\n  ${written.join('\n  ')}`);
}
