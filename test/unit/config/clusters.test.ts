import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterConfigError, loadClustersFile, parseClustersFile } from '#shared/config/clusters.ts';

const FP = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').slice(-2)).join(':');

const validFile = () => ({
  clusters: [
    {
      id: 'lab-a',
      name: 'Lab A',
      endpoints: [
        { url: 'https://pve1.example.org:8006', fingerprint: FP.toLowerCase() },
        { url: 'https://pve2.example.org:8006' },
      ],
      tokenId: 'svc@pve!sync',
      tokenSecret: { env: 'PVE_TOKEN_LAB_A' },
      tls: { caFile: 'ca.pem' },
    },
    {
      id: 'lab-b',
      name: 'Lab B',
      endpoints: [{ url: 'https://127.0.0.1:8007' }],
      tokenId: 'root@pam!sim',
      tokenSecret: { file: 'secrets/lab-b.token' },
      simulated: true,
      probePorts: { rdp: 13389, ssh: 10022 },
      maxInFlightPerNode: 2,
    },
  ],
});

function errorOf(fn: () => unknown): ClusterConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ClusterConfigError) return error;
    throw error;
  }
  throw new Error('expected a ClusterConfigError');
}

describe('parseClustersFile', () => {
  it('parses the contract example and applies defaults', () => {
    const file = parseClustersFile(validFile(), 'clusters.json');
    const [a, b] = file.clusters;
    expect(a).toMatchObject({
      id: 'lab-a',
      simulated: false,
      probePorts: { rdp: 3389, ssh: 22 },
      maxInFlightPerNode: 3,
    });
    expect(a?.endpoints[0]?.fingerprint).toBe(FP.toUpperCase());
    expect(b).toMatchObject({
      simulated: true,
      probePorts: { rdp: 13389, ssh: 10022 },
      maxInFlightPerNode: 2,
    });
  });

  it('resolves relative file paths against baseDir', () => {
    const file = parseClustersFile(validFile(), 'clusters.json', { baseDir: '/etc/pve-inventory' });
    expect(file.clusters[0]?.tls?.caFile).toBe('/etc/pve-inventory/ca.pem');
    expect(file.clusters[1]?.tokenSecret).toEqual({ file: '/etc/pve-inventory/secrets/lab-b.token' });
  });

  const cases: [string, (f: ReturnType<typeof validFile>) => unknown, string][] = [
    [
      'a bad URL',
      (f) => Object.assign(f.clusters[1]?.endpoints[0] ?? {}, { url: 'not a url' }),
      'clusters.json: clusters[1].endpoints[0].url:',
    ],
    [
      'http instead of https',
      (f) => Object.assign(f.clusters[0]?.endpoints[1] ?? {}, { url: 'http://pve2.example.org:8006' }),
      'clusters[0].endpoints[1].url: must be an https:// URL',
    ],
    [
      'a URL with a path',
      (f) =>
        Object.assign(f.clusters[0]?.endpoints[1] ?? {}, { url: 'https://pve2.example.org:8006/api2/json' }),
      'clusters[0].endpoints[1].url: must be the origin only',
    ],
    [
      'a short fingerprint',
      (f) => Object.assign(f.clusters[0]?.endpoints[0] ?? {}, { fingerprint: 'AB:CD' }),
      'clusters[0].endpoints[0].fingerprint: must be a SHA-256 fingerprint',
    ],
    ['a bad id', (f) => Object.assign(f.clusters[0] ?? {}, { id: 'Lab_A' }), 'clusters[0].id: must match'],
    [
      'a duplicate id',
      (f) => Object.assign(f.clusters[1] ?? {}, { id: 'lab-a' }),
      'clusters[1].id: duplicate id "lab-a"',
    ],
    [
      'a bad token id',
      (f) => Object.assign(f.clusters[0] ?? {}, { tokenId: 'root@pam' }),
      'clusters[0].tokenId: must be USER@REALM!TOKENID',
    ],
    [
      'two secret sources',
      (f) => Object.assign(f.clusters[0] ?? {}, { tokenSecret: { env: 'A', file: 'b' } }),
      'clusters[0].tokenSecret: must have exactly one of',
    ],
    [
      'no secret source',
      (f) => Object.assign(f.clusters[0] ?? {}, { tokenSecret: {} }),
      'clusters[0].tokenSecret: must have exactly one of',
    ],
    [
      'a secret value inline',
      (f) => Object.assign(f.clusters[0] ?? {}, { tokenSecret: { value: 'x' } }),
      'clusters[0].tokenSecret:',
    ],
    [
      'insecure with a CA',
      (f) => Object.assign(f.clusters[0] ?? {}, { tls: { insecure: true, caFile: 'a' } }),
      'clusters[0].tls: "insecure" cannot be combined',
    ],
    [
      'a typo in a key',
      (f) => Object.assign(f.clusters[0] ?? {}, { maxInflight: 3 }),
      'clusters[0]: Unrecognized key',
    ],
    [
      'no endpoints',
      (f) => Object.assign(f.clusters[0] ?? {}, { endpoints: [] }),
      'clusters[0].endpoints: needs at least one endpoint',
    ],
    [
      'a bad probe port',
      (f) => Object.assign(f.clusters[1] ?? {}, { probePorts: { rdp: 0, ssh: 22 } }),
      'clusters[1].probePorts.rdp:',
    ],
    [
      'maxInFlightPerNode 0',
      (f) => Object.assign(f.clusters[1] ?? {}, { maxInFlightPerNode: 0 }),
      'clusters[1].maxInFlightPerNode:',
    ],
  ];
  it.each(cases)('names the file and field for %s', (_label, mutate, expected) => {
    const f = validFile();
    mutate(f);
    const error = errorOf(() => parseClustersFile(f, 'clusters.json'));
    expect(error.message).toContain(expected);
    expect(error.message.startsWith('clusters.json: ')).toBe(true);
    expect(error.source).toBe('clusters.json');
  });

  it('rejects a document without clusters', () => {
    expect(errorOf(() => parseClustersFile({}, 'x.json')).message).toMatch(/^x\.json: clusters:/);
    expect(errorOf(() => parseClustersFile(null, 'x.json')).message).toMatch(/^x\.json: \(root\):/);
  });
});

describe('loadClustersFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'clusters-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a file and resolves paths against its directory', async () => {
    const path = join(dir, 'clusters.json');
    await writeFile(path, JSON.stringify(validFile()));
    const file = await loadClustersFile(path);
    expect(file.clusters[0]?.tls?.caFile).toBe(join(dir, 'ca.pem'));
  });

  it('names the file for bad JSON and missing files', async () => {
    const path = join(dir, 'broken.json');
    await writeFile(path, '{"clusters": [');
    await expect(loadClustersFile(path)).rejects.toThrow(new RegExp(`^${path}: not valid JSON`));
    await expect(loadClustersFile(join(dir, 'missing.json'))).rejects.toThrow(
      /missing\.json: cannot read the file \(ENOENT\)/,
    );
  });

  it('accepts the example file shipped in config/', async () => {
    const example = new URL('../../../config/clusters.example.json', import.meta.url);
    const file = parseClustersFile(JSON.parse(await readFile(example, 'utf8')), 'clusters.example.json');
    expect(file.clusters.length).toBeGreaterThan(0);
  });
});
