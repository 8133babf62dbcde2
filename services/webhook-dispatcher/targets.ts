/**
 * Where webhook-dispatcher may deliver, and which targets are fleet services (the only ones that get the handshake).
 * Pure: the DNS side is {@link addressRefusal}, which the delivery's own lookup applies to every resolved address.
 *
 * A target is judged, in order:
 * 1. Refused: a link-local or cloud metadata host (169.254.0.0/16, fe80::/10, 169.254.169.254, fd00:ec2::254,
 *    100.100.100.200, metadata.google.internal, metadata), even when the operator lists it.
 * 2. A fleet service: its host:port is one of this service's peers (N3XUS_PEERS), or its host is a peer's name.
 *    The fleet's own receivers of webhooks (audit-trail, which verify's event-delivery check subscribes) are
 *    declared in the catalog as calls of webhook-dispatcher, and so are peers.
 * 3. An operator's host: listed in N3XUS_WEBHOOK_ALLOWED_HOSTS (`host`, any port, or `host:port`).
 * 4. Anything else is refused: a fleet service the dispatcher does not call, whatever its address looks like
 *    (PostgreSQL and Redis share its data network), and any other host.
 */
import type { LookupAddress, LookupOptions } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { HostEntry } from '@n3xus/kit';

/** What a target is: a peer (a fleet service, which gets the handshake) or an operator's host (which does not). */
export type TargetKind = 'peer' | 'listed';

export type TargetVerdict = { allowed: true; kind: TargetKind; fleet: boolean } | { allowed: false; reason: string };

/** What the judgement reads: this service's peers (name → base URL) and the operator's allowed hosts. */
export interface TargetRules {
  peers: Readonly<Record<string, string>>;
  allowedHosts: readonly HostEntry[];
}

const METADATA_NAMES = new Set(['metadata', 'metadata.google.internal']);

/** Link-local ranges and the clouds' metadata addresses (AWS's IPv6 one, Alibaba's; the others are link-local). */
const FORBIDDEN = new BlockList();
FORBIDDEN.addSubnet('169.254.0.0', 16, 'ipv4');
FORBIDDEN.addSubnet('fe80::', 10, 'ipv6');
FORBIDDEN.addAddress('fd00:ec2::254', 'ipv6');
FORBIDDEN.addAddress('100.100.100.200', 'ipv4');

/** `[fd00::1]` → `fd00::1`: URL.hostname keeps an IPv6 address in brackets. */
const unbracket = (host: string) => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);

function inList(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** Why the resolved `address` may not receive a delivery, or undefined when it may. */
export function addressRefusal(address: string): string | undefined {
  if (inList(FORBIDDEN, address)) return `it resolves to ${address}, a link-local or cloud metadata address`;
  return undefined;
}

/** Raised (through the lookup) when a target's host resolves to an address it may not be delivered to. */
export class TargetRefusedError extends Error {
  override name = 'TargetRefusedError';
}

/** Every address of a host name, as `dns.lookup(name, {all: true})` gives them. */
export type ResolveAll = (hostname: string) => Promise<LookupAddress[]>;

/**
 * A `lookup` for `http.request`: resolves every address of the host and fails the connection with a
 * {@link TargetRefusedError} when any of them may not receive a delivery. The addresses checked
 * are the ones then connected to: a name cannot be resolved once for the check and again, to another address,
 * for the connection. (An IP address in the URL is not looked up; {@link judgeTarget} has judged it.)
 */
export function guardedLookup(resolve: ResolveAll = (hostname) => dnsLookup(hostname, { all: true })): LookupFunction {
  return (hostname: string, options: LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
    resolve(hostname).then(
      (addresses) => {
        const refusal = addresses.map((a) => addressRefusal(a.address)).find((r) => r !== undefined);
        if (refusal !== undefined) return callback(new TargetRefusedError(`Webhook target host ${JSON.stringify(hostname)} is refused: ${refusal}.`), '');
        const usable = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        const first = usable[0];
        if (first === undefined) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '');
        if (options.all) callback(null, usable);
        else callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };
}

/** `url`'s host and port, the port made explicit. */
function hostPort(url: URL): { host: string; port: number } {
  return { host: url.hostname.replace(/\.$/, ''), port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80) };
}

/** A peer's base URL as host and port; undefined for one that is not a URL (the kit checked the form only). */
function peerHostPort(base: string): { host: string; port: number } | undefined {
  try {
    return hostPort(new URL(base));
  } catch {
    return undefined;
  }
}

/** Judges a webhook target (no I/O). The refusal reason names the host and says what is allowed. */
export function judgeTarget(target: string | URL, rules: TargetRules): TargetVerdict {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return { allowed: false, reason: `Webhook target ${JSON.stringify(String(target))} is not a URL.` };
  }
  const { host, port } = hostPort(url);
  const named = JSON.stringify(url.port ? `${host}:${url.port}` : host);
  if (METADATA_NAMES.has(host) || inList(FORBIDDEN, unbracket(host))) {
    return { allowed: false, reason: `Webhook target host ${named} is a link-local or cloud metadata address: never allowed, even when listed in N3XUS_WEBHOOK_ALLOWED_HOSTS.` };
  }
  const peerHosts = Object.values(rules.peers).flatMap((base) => peerHostPort(base) ?? []);
  if (Object.hasOwn(rules.peers, host) || peerHosts.some((p) => p.host === host && p.port === port)) return { allowed: true, kind: 'peer', fleet: true };
  if (rules.allowedHosts.some((entry) => entry.host === host && (entry.port === undefined || entry.port === port))) return { allowed: true, kind: 'listed', fleet: false };
  const peers = Object.keys(rules.peers);
  return {
    allowed: false,
    reason:
      `Webhook target host ${named} is not allowed: a webhook goes to a fleet service this dispatcher calls` +
      `${peers.length ? ` (${peers.join(', ')})` : ' (it has none)'} or to a host the operator lists in N3XUS_WEBHOOK_ALLOWED_HOSTS (host or host:port).`,
  };
}
