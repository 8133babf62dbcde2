import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseHostList, parsePeers, readConfig } from '../../services/_kit/src/config.ts';
import { guardedLookup, judgeTarget, TargetRefusedError, type TargetRules } from '../../services/webhook-dispatcher/targets.ts';
import { localEnvironment, publishedAddresses } from '../../src/drivers/process/local-env.ts';
import { loadFleet } from '../../src/fleet/model.ts';
import { internalUrl, selectTargets } from '../../src/verify/targets.ts';

const KEY = 'N3XUS_WEBHOOK_ALLOWED_HOSTS';
const rules = (peers: Record<string, string>, hosts = ''): TargetRules => ({ peers, allowedHosts: parseHostList(hosts, KEY) });
const named = { 'event-bus': 'http://event-bus:4069' };
const onLoopback = { 'event-bus': 'http://127.0.0.1:4069' };

describe('N3XUS_WEBHOOK_ALLOWED_HOSTS', () => {
  it('reads host and host:port entries, normalised as a URL has them', () => {
    expect(parseHostList(' Hooks.Example.com , ci.example.com:8443,[FD00::1]:9000,2852039166,trailing.example.', KEY)).toEqual([
      { host: 'hooks.example.com' },
      { host: 'ci.example.com', port: 8443 },
      { host: '[fd00::1]', port: 9000 },
      { host: '169.254.169.254' },
      { host: 'trailing.example' },
    ]);
    expect(readConfig({ N3XUS_SERVICE: 'webhook-dispatcher', [KEY]: 'hooks.example.com:8443' }).webhookAllowedHosts).toEqual([{ host: 'hooks.example.com', port: 8443 }]);
    expect(readConfig({ N3XUS_SERVICE: 'webhook-dispatcher' }).webhookAllowedHosts).toEqual([]);
    expect(parseHostList(undefined, KEY)).toEqual([]);
    expect(parseHostList(' , ', KEY)).toEqual([]);
  });

  it('refuses an entry that is not host or host:port, naming the variable and the entry', () => {
    for (const entry of ['http://hooks.example.com', 'hooks.example.com/x', 'user@hooks.example.com', 'hooks.example.com:0', 'hooks.example.com:70000', 'fe80::1', 'a b']) {
      expect(() => parseHostList(`ok.example.com,${entry}`, KEY), entry).toThrow(ConfigError);
      expect(() => parseHostList(entry, KEY), entry).toThrow(`${KEY} entry ${JSON.stringify(entry)} is not valid: expected host or host:port`);
    }
  });
});

describe('webhook targets', () => {
  const verdict = (url: string, r: TargetRules) => {
    const v = judgeTarget(url, r);
    return v.allowed ? { kind: v.kind, fleet: v.fleet } : 'refused';
  };

  it('a peer, by its host:port or its name, is a fleet service', () => {
    expect(verdict('http://event-bus:4069/hook', rules(named))).toEqual({ kind: 'peer', fleet: true });
    expect(verdict('http://event-bus:9000/hook', rules(named))).toEqual({ kind: 'peer', fleet: true });
    expect(verdict('http://127.0.0.1:4069/hook', rules(onLoopback))).toEqual({ kind: 'peer', fleet: true });
  });

  it('an operator-listed host is external (no handshake), any port unless the entry has one; https counts as 443', () => {
    const r = rules(named, 'hooks.example.com,ci.example.com:8443,secure.example.com:443');
    expect(verdict('https://hooks.example.com:9999/x', r)).toEqual({ kind: 'listed', fleet: false });
    expect(verdict('https://ci.example.com:8443/x', r)).toEqual({ kind: 'listed', fleet: false });
    expect(verdict('https://ci.example.com/x', r)).toBe('refused');
    expect(verdict('https://secure.example.com/x', r)).toEqual({ kind: 'listed', fleet: false });
    expect(verdict('HTTP://HOOKS.EXAMPLE.COM./x', r)).toEqual({ kind: 'listed', fleet: false });
    // Listed wins over the address's shape: an operator's receiver on this machine gets no handshake.
    expect(verdict('http://127.0.0.1:9000/x', rules(onLoopback, '127.0.0.1:9000'))).toEqual({ kind: 'listed', fleet: false });
  });

  it('a fleet service the dispatcher does not call is refused, however it is addressed: the data servers too', () => {
    for (const url of ['http://audit-trail:4002/v1/ingest/events', 'http://postgres:5432/', 'http://redis:6379/', 'http://localhost:4002/x', 'http://127.0.0.1:4002/x']) {
      expect(verdict(url, rules(named)), url).toBe('refused');
    }
    // Under the process driver every service is on 127.0.0.1: only a peer's own port is a peer.
    for (const url of ['http://127.0.0.1:4002/x', 'http://localhost:4069/x', 'http://[::1]:4069/x', 'http://127.0.0.1:15432/']) {
      expect(verdict(url, rules(onLoopback)), url).toBe('refused');
    }
    expect(verdict('http://audit-trail:4002/x', rules({}))).toBe('refused');
  });

  it('link-local and metadata hosts are refused even when listed, and even in a form the fleet shape would take', () => {
    const r = rules(onLoopback, '169.254.169.254,169.254.10.10:80,metadata.google.internal,metadata,[fe80::1],[fd00:ec2::254],100.100.100.200');
    for (const url of [
      'http://169.254.169.254/latest/meta-data/',
      'http://169.254.10.10/',
      'http://2852039166/',
      'http://0xa9.0xfe.0xa9.0xfe/',
      'http://[::ffff:169.254.169.254]/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://metadata/',
      'http://[fe80::1]/',
      'http://[fe80::abcd:1]:8080/',
      'http://[fd00:ec2::254]/',
      'http://100.100.100.200/',
    ]) {
      const v = judgeTarget(url, r);
      expect(v.allowed, url).toBe(false);
      if (!v.allowed) expect(v.reason, url).toMatch(/is a link-local or cloud metadata address: never allowed, even when listed in N3XUS_WEBHOOK_ALLOWED_HOSTS\.$/);
    }
    expect(judgeTarget('http://metadata/', rules(named))).toMatchObject({ allowed: false, reason: expect.stringContaining('metadata address') });
  });

  it('a refusal names the host (with the port given) and what is allowed', () => {
    expect(judgeTarget('http://evil.example.com:8080/x', rules(named, 'hooks.example.com'))).toEqual({
      allowed: false,
      reason: 'Webhook target host "evil.example.com:8080" is not allowed: a webhook goes to a fleet service this dispatcher calls (event-bus) or to a host the operator lists in N3XUS_WEBHOOK_ALLOWED_HOSTS (host or host:port).',
    });
    expect(judgeTarget('http://evil.example.com/x', rules({}))).toMatchObject({ reason: expect.stringContaining('calls (it has none)') });
  });

  it("accepts, as a peer, the audit-trail URL verify's event-delivery flow registers, as compose and the process driver configure the dispatcher", () => {
    const fleet = loadFleet('compose/docker-compose.full.yml', { env: {} });
    const dispatcher = fleet.services.find((s) => s.name === 'webhook-dispatcher')!;
    // In containers: verify hands the dispatcher audit-trail's in-network URL.
    const inNetwork = `${internalUrl(fleet.services, 'audit-trail')!}/v1/ingest/events`;
    expect(judgeTarget(inNetwork, rules(parsePeers(dispatcher.environment.N3XUS_PEERS)))).toEqual({ allowed: true, kind: 'peer', fleet: true });
    // Under the process driver: the URL where audit-trail is published on 127.0.0.1.
    const published = `${selectTargets(fleet.services, 'full', '127.0.0.1').find((t) => t.name === 'audit-trail')!.url}/v1/ingest/events`;
    const local = localEnvironment(dispatcher, publishedAddresses(fleet));
    expect(judgeTarget(published, rules(parsePeers(local.N3XUS_PEERS)))).toEqual({ allowed: true, kind: 'peer', fleet: true });
  });
});

describe('the lookup a delivery connects through', () => {
  const resolving = (...addresses: string[]) => async (): Promise<LookupAddress[]> => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  const lookUp = (resolve: ReturnType<typeof resolving>, all = true) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((done) => guardedLookup(resolve)('hooks.example.com', { all }, (err, address) => done({ err, address })));

  it('passes the resolved addresses on when none is link-local or metadata', async () => {
    expect(await lookUp(resolving('93.184.216.34', '2606:2800:220:1::1'))).toEqual({ err: null, address: [{ address: '93.184.216.34', family: 4 }, { address: '2606:2800:220:1::1', family: 6 }] });
    expect((await lookUp(resolving('93.184.216.34'), false)).address).toBe('93.184.216.34');
    expect((await lookUp(resolving('172.18.0.5'))).err).toBeNull();
  });

  it('refuses a host when any of its addresses is link-local or metadata, peer or listed', async () => {
    for (const address of ['169.254.169.254', 'fe80::1', 'fd00:ec2::254', '::ffff:169.254.169.254']) {
      const { err } = await lookUp(resolving('10.0.0.8', address));
      expect(err, address).toBeInstanceOf(TargetRefusedError);
      expect(err?.message).toBe(`Webhook target host "hooks.example.com" is refused: it resolves to ${address}, a link-local or cloud metadata address.`);
    }
  });
});
