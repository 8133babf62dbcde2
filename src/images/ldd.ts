/** Reading `ldd` output to find the shared libraries a binary needs. Pure: parses text handed to it. */

/** A shared library as the dynamic loader resolved it on the host. */
export interface SharedLibrary {
  /** Name the binary asks for, e.g. `libc.so.6`. */
  name: string;
  /** Absolute path the loader found it at (possibly a symlink), e.g. `/lib/x86_64-linux-gnu/libc.so.6`. */
  path: string;
}

/** What a dynamically linked binary needs to start: its libraries and the program interpreter (ld.so). */
export interface LddResult {
  libraries: SharedLibrary[];
  /** e.g. `/lib64/ld-linux-x86-64.so.2`; undefined for a static binary. */
  interpreter: string | undefined;
}

/** A library the loader could not find on the host. */
export class MissingLibraryError extends Error {
  override readonly name = 'MissingLibraryError';
  readonly libraries: readonly string[];

  constructor(libraries: readonly string[]) {
    super(`Shared libraries not found on this machine: ${libraries.join(', ')}. Install the packages that provide them`);
    this.libraries = libraries;
  }
}

/**
 * Parses `ldd BINARY` output. The kernel's vDSO (no file) is skipped; a `=> not found` line throws a
 * {@link MissingLibraryError}; "not a dynamic executable" / "statically linked" gives an empty result.
 *
 * @example
 * parseLddOutput('\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x7f…)\n\t/lib64/ld-linux-x86-64.so.2 (0x7f…)\n');
 * // { libraries: [{ name: 'libc.so.6', path: '/lib/x86_64-linux-gnu/libc.so.6' }], interpreter: '/lib64/ld-linux-x86-64.so.2' }
 */
export function parseLddOutput(output: string): LddResult {
  const libraries: SharedLibrary[] = [];
  const missing: string[] = [];
  let interpreter: string | undefined;
  for (const rawLine of output.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || /not a dynamic executable|statically linked/.test(line)) continue;
    const arrow = /^(\S+)\s+=>\s+(.*?)\s*(?:\(0x[0-9a-f]+\))?$/.exec(line);
    if (arrow?.[1] !== undefined && arrow[2] !== undefined) {
      const [, name, target] = arrow;
      if (target === 'not found') missing.push(name);
      else if (target.startsWith('/')) libraries.push({ name, path: target });
      // An arrow to nothing (`linux-vdso.so.1 =>  (0x…)`) is the vDSO on older glibc: no file to copy.
      continue;
    }
    const bare = /^(\/\S+)\s*(?:\(0x[0-9a-f]+\))?$/.exec(line);
    if (bare?.[1] !== undefined) interpreter = bare[1];
    // Anything else (`linux-vdso.so.1 (0x…)`) is provided by the kernel.
  }
  if (missing.length > 0) throw new MissingLibraryError(missing);
  return { libraries, interpreter };
}
