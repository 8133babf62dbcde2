import { describe, expect, it } from 'vitest';
import { debianMirror, parseAptSources } from '../../src/images/apt-sources.ts';

const HOST_SOURCES = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

describe('debianMirror', () => {
  it('takes the URIs line of the stanza whose Suites include the suite, not a commented URL', () => {
    expect(debianMirror(HOST_SOURCES, 'bookworm')).toBe('http://deb.debian.org/debian');
  });

  it('tells the security archive apart from the main one', () => {
    expect(debianMirror(HOST_SOURCES, 'bookworm-security')).toBe('http://deb.debian.org/debian-security');
  });

  it('is undefined when no stanza serves the suite', () => {
    expect(debianMirror(HOST_SOURCES, 'trixie')).toBeUndefined();
  });

  it('skips deb-src-only and disabled stanzas and drops a trailing slash', () => {
    const text = `Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\nEnabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\n\nTypes: deb deb-src\nURIs: http://mirror.example/debian/\nSuites: bookworm\n`;
    expect(debianMirror(text, 'bookworm')).toBe('http://mirror.example/debian');
  });

  it('reads one-line sources.list entries, options in brackets included', () => {
    const text = '# comment\ndeb [signed-by=/usr/share/keyrings/k.gpg] http://old.example/debian bookworm main contrib\n';
    expect(debianMirror(text, 'bookworm')).toBe('http://old.example/debian');
  });
});

describe('parseAptSources', () => {
  it('joins indented continuation lines and lower-cases field names', () => {
    const [source] = parseAptSources('types: deb\nURIs: http://a.example/debian\n  http://b.example/debian\nSuites: bookworm\nComponents: main contrib\n');
    expect(source).toEqual({
      types: ['deb'],
      uris: ['http://a.example/debian', 'http://b.example/debian'],
      suites: ['bookworm'],
      components: ['main', 'contrib'],
    });
  });
});
