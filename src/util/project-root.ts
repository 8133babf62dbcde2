import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The directory of n3xus's package.json, found by walking up from this module, so paths such as
 * `compose/images` resolve the same from `src/` (tsx) and from `dist/src/` (compiled).
 */
export function projectRoot(fromUrl: string = import.meta.url): string {
  let dir = path.dirname(fileURLToPath(fromUrl));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      const name = (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name;
      if (name === 'n3xus') return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`Could not find n3xus's package.json above ${fileURLToPath(fromUrl)}`);
    dir = parent;
  }
}
