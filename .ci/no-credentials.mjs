/* global process, console */
// CI check (issue 12): no credential of the install appears in the environment of any container of the launched
// fleet (docker inspect) or in any layer of their images (docker history). The credentials are every value of the
// secrets file and of the fleet's secret files, each password inside a URL included.
// Usage: node .ci/no-credentials.mjs <project> <secrets dir>
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const [project = 'n3xus', dir = '.n3xus/secrets'] = process.argv.slice(2);
const docker = (...args) => execFileSync('docker', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });

const credentials = new Set();
for (const name of readdirSync(dir)) {
  const text = readFileSync(path.join(dir, name), 'utf8');
  if (name === 'n3xus.env') for (const line of text.split('\n')) if (/^[A-Z_]+=/.test(line)) credentials.add(line.slice(line.indexOf('=') + 1));
  for (const match of text.matchAll(/:\/\/[^:/@\s]+:([^@\s]+)@/g)) credentials.add(decodeURIComponent(match[1]));
  if (name === 'postgres-password') credentials.add(text.trim());
}
for (const c of credentials) if (c.length < 16) throw new Error(`a credential shorter than 16 characters in ${dir}: the check would be weak`);
if (credentials.size < 4) throw new Error(`found only ${credentials.size} credentials in ${dir}`);

const ids = docker('ps', '-aq', '--filter', `label=n3xus.project=${project}`).split('\n').filter(Boolean);
const inspected = JSON.parse(docker('inspect', ...ids));
const problems = [];
const images = new Set();
for (const c of inspected) {
  images.add(c.Image);
  for (const entry of c.Config.Env ?? []) {
    for (const secret of credentials) if (entry.includes(secret)) problems.push(`${c.Name}: environment ${entry.slice(0, entry.indexOf('='))} holds a credential`);
    if (/^[A-Z_]*(PASSWORD|_URL)=.*:\/\/[^:/@]+:[^@]+@/.test(entry)) problems.push(`${c.Name}: environment ${entry.slice(0, entry.indexOf('='))} holds a URL with a password`);
  }
}
for (const image of images) {
  const history = docker('history', '--no-trunc', '--format', '{{.CreatedBy}}', image);
  for (const secret of credentials) if (history.includes(secret)) problems.push(`image ${image}: a layer holds a credential`);
}
if (problems.length > 0) {
  console.error(problems.slice(0, 20).join('\n'));
  process.exit(1);
}
console.log(`no credential (${credentials.size} checked) in the environment of ${inspected.length} containers or in the history of ${images.size} images`);
