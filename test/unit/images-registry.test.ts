import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ArchiveIndex } from '../../src/images/distribute.ts';
import { registryServiceSpec, REGISTRY_IMAGE } from '../../src/images/registry-service.ts';
import { CONFIG_MEDIA_TYPE, LAYER_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, pullsPlainHttp, pushPlan, RegistryError } from '../../src/images/registry.ts';

const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const entry = (name: string, size: number) => ({ name, start: 0, dataStart: 512, size, end: 512 + size });

/** An archive as `docker save` writes it: two images sharing a base layer, the second's copy of it a link. */
function index(): Pick<ArchiveIndex, 'file' | 'images' | 'entries'> {
  const configA = Buffer.from('{"a":1}');
  const configB = Buffer.from('{"b":2}');
  return {
    file: 'fleet.tar',
    entries: [entry('base/layer.tar', 1000), entry('a.json', configA.length), entry('link/layer.tar', 0), entry('top/layer.tar', 300), entry('b.json', configB.length)],
    images: [
      { repoTags: ['n3xus/a:1'], config: { path: 'a.json', bytes: configA }, layers: [{ path: 'base/layer.tar', diffId: sha('base') }] },
      {
        repoTags: ['n3xus/b:1', 'n3xus/b:latest'],
        config: { path: 'b.json', bytes: configB },
        layers: [
          { path: 'link/layer.tar', diffId: sha('base') },
          { path: 'top/layer.tar', diffId: sha('top') },
        ],
      },
    ],
  };
}

describe('pushPlan', () => {
  it('gives each blob once, by its digest, from the entry that holds its bytes', () => {
    const plan = pushPlan(index());
    expect([...plan.blobs.keys()].sort()).toEqual([sha('base'), sha('top'), sha('{"a":1}'), sha('{"b":2}')].sort());
    expect(plan.blobs.get(sha('base'))).toMatchObject({ size: 1000, source: { entry: 'base/layer.tar' } });
    expect(plan.blobs.get(sha('{"b":2}'))).toMatchObject({ size: 7, source: { bytes: Buffer.from('{"b":2}') } });
  });

  it('makes a schema 2 manifest for every name, layers uncompressed and bottom first', () => {
    const plan = pushPlan(index());
    expect(plan.images.map((i) => [i.repository, i.tag])).toEqual([
      ['n3xus/a', '1'],
      ['n3xus/b', '1'],
      ['n3xus/b', 'latest'],
    ]);
    const manifest = JSON.parse(plan.images[1]!.manifest.toString()) as Record<string, unknown>;
    expect(manifest).toEqual({
      schemaVersion: 2,
      mediaType: MANIFEST_MEDIA_TYPE,
      config: { mediaType: CONFIG_MEDIA_TYPE, size: 7, digest: sha('{"b":2}') },
      layers: [
        { mediaType: LAYER_MEDIA_TYPE, size: 1000, digest: sha('base') },
        { mediaType: LAYER_MEDIA_TYPE, size: 300, digest: sha('top') },
      ],
    });
    expect(plan.images[1]!.blobs).toEqual([sha('{"b":2}'), sha('base'), sha('top')]);
  });

  it('refuses an image saved without a name, and a layer that is only links', () => {
    const unnamed = index();
    unnamed.images[0]!.repoTags = [];
    expect(() => pushPlan(unnamed)).toThrow(RegistryError);
    expect(() => pushPlan(unnamed)).toThrow(/without a name \(config a\.json\)/);
    const linked = index();
    linked.entries = linked.entries.map((e) => (e.name === 'top/layer.tar' ? { ...e, size: 0 } : e));
    expect(() => pushPlan(linked)).toThrow(/no bytes for the layer/);
  });
});

describe('pullsPlainHttp', () => {
  const defaults = { cidrs: ['127.0.0.0/8'], names: [] };
  it('says yes for a name or an address range the engine lists, no for an address outside them', () => {
    expect(pullsPlainHttp(defaults, '127.0.0.1:5000')).toBe(true);
    expect(pullsPlainHttp(defaults, 'localhost:5000')).toBe(true);
    expect(pullsPlainHttp(defaults, '10.213.7.11:5000')).toBe(false);
    expect(pullsPlainHttp({ cidrs: ['127.0.0.0/8', '10.213.7.0/24'], names: [] }, '10.213.7.11:5000')).toBe(true);
    expect(pullsPlainHttp({ cidrs: ['10.213.7.0/24'], names: [] }, '10.213.8.1:5000')).toBe(false);
    expect(pullsPlainHttp({ cidrs: ['0.0.0.0/0'], names: [] }, '192.0.2.1:80')).toBe(true);
    expect(pullsPlainHttp({ cidrs: [], names: ['registry.lan:5000'] }, 'registry.lan:5000')).toBe(true);
  });
  it('cannot tell for a name the engine resolves itself', () => {
    expect(pullsPlainHttp(defaults, 'registry.lan:5000')).toBeUndefined();
  });
});

describe('registryServiceSpec', () => {
  it('pins one replica to the node, its storage in a volume, its port in host mode', () => {
    const spec = registryServiceSpec({ nodeId: 'abc', port: 5001 }) as {
      Name: string;
      TaskTemplate: { ContainerSpec: { Image: string; ReadOnly: boolean; Mounts: { Type: string; Target: string }[] }; Placement: { Constraints: string[] } };
      Mode: unknown;
      EndpointSpec: { Mode: string; Ports: unknown[] };
    };
    expect(spec.Name).toBe('n3xus-registry');
    expect(spec.TaskTemplate.ContainerSpec.Image).toBe(REGISTRY_IMAGE);
    expect(spec.TaskTemplate.ContainerSpec.ReadOnly).toBe(true);
    expect(spec.TaskTemplate.ContainerSpec.Mounts).toEqual([expect.objectContaining({ Type: 'volume', Target: '/var/lib/registry' })]);
    expect(spec.TaskTemplate.Placement.Constraints).toEqual(['node.id==abc']);
    expect(spec.Mode).toEqual({ Replicated: { Replicas: 1 } });
    expect(spec.EndpointSpec).toEqual({ Mode: 'dnsrr', Ports: [{ Protocol: 'tcp', TargetPort: 5000, PublishedPort: 5001, PublishMode: 'host' }] });
  });
});
