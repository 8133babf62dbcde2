/**
 * Reading the host's APT sources to find the Debian mirror at run time, so no mirror host is written into the
 * project. Pure: parses text handed to it.
 */

/** One source: the deb822 stanza fields n3xus reads. */
export interface AptSource {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
}

/**
 * Parses deb822 `.sources` text (stanzas separated by blank lines, `Field: value` lines, `#` comments, indented
 * continuation lines) and one-line `sources.list` text (`deb URI suite component…`).
 */
export function parseAptSources(text: string): AptSource[] {
  const lines = text.split(/\r?\n/);
  if (lines.some((line) => /^\s*deb(-src)?\s+/.test(line))) return parseOneLineSources(lines);
  const sources: AptSource[] = [];
  let fields = new Map<string, string>();
  let lastKey: string | undefined;
  const flush = (): void => {
    if (fields.size > 0) {
      const list = (key: string): string[] => (fields.get(key) ?? '').split(/\s+/).filter((word) => word !== '');
      const enabled = (fields.get('enabled') ?? 'yes').trim().toLowerCase() !== 'no';
      if (enabled) sources.push({ types: list('types'), uris: list('uris'), suites: list('suites'), components: list('components') });
    }
    fields = new Map();
    lastKey = undefined;
  };
  for (const line of lines) {
    if (line.trim() === '') {
      flush();
      continue;
    }
    if (line.trimStart().startsWith('#')) continue;
    if (/^\s/.test(line) && lastKey !== undefined) {
      fields.set(lastKey, `${fields.get(lastKey) ?? ''} ${line.trim()}`);
      continue;
    }
    const match = /^([A-Za-z][\w-]*):\s*(.*)$/.exec(line);
    if (!match?.[1]) continue;
    lastKey = match[1].toLowerCase();
    fields.set(lastKey, match[2] ?? '');
  }
  flush();
  return sources;
}

function parseOneLineSources(lines: string[]): AptSource[] {
  const sources: AptSource[] = [];
  for (const line of lines) {
    // Options in brackets (`deb [signed-by=…] uri suite comp`) are not needed to find the mirror.
    const words = line.replace(/#.*/, '').replace(/\[[^\]]*\]/, '').trim().split(/\s+/);
    const [type, uri, suite, ...components] = words;
    if ((type === 'deb' || type === 'deb-src') && uri !== undefined && suite !== undefined) {
      sources.push({ types: [type], uris: [uri], suites: [suite], components });
    }
  }
  return sources;
}

/**
 * The mirror URI that serves `suite` (e.g. `bookworm`) as binary packages; undefined when none does.
 *
 * @example
 * debianMirror(readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8'), 'bookworm'); // 'http://deb.debian.org/debian'
 */
export function debianMirror(sourcesText: string, suite: string): string | undefined {
  const source = parseAptSources(sourcesText).find((s) => s.types.includes('deb') && s.suites.includes(suite));
  return source?.uris[0]?.replace(/\/+$/, '');
}
