import { describe, expect, it } from 'vitest';
import { capProblems, keysToCheck, parseMappings, resolveMappings } from '#shared/api/mappings.ts';
import { ImportMappingsBodySchema } from '#shared/http/schemas/ownership.ts';

/** A mappings file as the route's body schema reads it from JSON text. */
const file = (json: string) => ImportMappingsBodySchema.parse(JSON.parse(json));

const usernames = { realmSuffixes: ['@pve', '@pam'] };
const knownClusters = ['lab-a', 'lab-b'];

describe('parseMappings', () => {
  it('normalizes usernames and reads bare VMIDs with the named cluster and "cluster:vmid" strings', () => {
    const parsed = parseMappings(file('{"Alice@PVE": [101, "lab-b:102"]}'), {
      cluster: 'lab-a',
      knownClusters,
      usernames,
    });
    expect(parsed.problems).toEqual([]);
    expect(parsed.entries).toEqual([
      { field: 'body["Alice@PVE"][0]', username: 'alice', cluster_id: 'lab-a', vmid: 101 },
      { field: 'body["Alice@PVE"][1]', username: 'alice', cluster_id: 'lab-b', vmid: 102 },
    ]);
  });

  it('keeps bare VMIDs unresolved without a cluster, and refuses unknown clusters', () => {
    const parsed = parseMappings(file('{"bob": [101, "lab-z:5000"]}'), { knownClusters, usernames });
    expect(parsed.entries.map((e) => e.cluster_id)).toEqual([null]);
    expect(parsed.problems).toEqual([
      { field: 'body.bob[1]', message: 'unknown cluster "lab-z" in "lab-z:5000"' },
    ]);
    expect(parseMappings(file('{}'), { cluster: 'nope', knownClusters, usernames }).problems[0]?.field).toBe(
      'query.cluster',
    );
  });

  it('refuses a username that normalizes to nothing', () => {
    const problems = parseMappings(file('{"a\\u0001b": [101]}'), { knownClusters, usernames }).problems;
    expect(problems[0]?.field).toBe('body["a\\u0001b"]');
    expect(problems[0]?.message).toMatch(/no whitespace, invisible characters/);
  });

  it('treats prototype keys as plain usernames: never dropped, each one reported or kept', () => {
    const parsed = parseMappings(
      file('{"__proto__": [101], "constructor": [102], "toString": [103], "\\u200b\\u200c": [104]}'),
      { cluster: 'lab-a', knownClusters, usernames },
    );
    expect(parsed.entries.map((e) => [e.username, e.vmid])).toEqual([
      ['constructor', 102],
      ['tostring', 103],
    ]);
    expect(parsed.problems.map((p) => p.field)).toEqual(['body.__proto__', 'body["\\u200b\\u200c"]']);
  });

  it('reports every bad list at its own field through the body schema', () => {
    const result = ImportMappingsBodySchema.safeParse(
      JSON.parse('{"__proto__": ["x"], "bob": "nope", "ok": [101]}'),
    );
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['__proto__', 0], ['bob']]);
  });
});

describe('resolveMappings', () => {
  const exists = new Set(['lab-a#101', 'lab-b#101', 'lab-b#300']);
  const entry = (cluster_id: string | null, vmid: number, username = 'alice') => ({
    field: 'f',
    username,
    cluster_id,
    vmid,
  });

  it('checks bare VMIDs on every cluster and named VMs on theirs', () => {
    expect(keysToCheck([entry(null, 101), entry('lab-b', 300)], knownClusters)).toEqual([
      { cluster_id: 'lab-a', vmid: 101 },
      { cluster_id: 'lab-b', vmid: 101 },
      { cluster_id: 'lab-b', vmid: 300 },
    ]);
  });

  it.each([
    [entry(null, 101), /ambiguous VMID 101: it exists on clusters lab-a, lab-b/],
    [entry(null, 300), /never guessed/],
    [entry(null, 999), /unknown VMID 999/],
    [entry('lab-a', 300), /unknown VM lab-a:300/],
  ])('refuses %o', (bad, message) => {
    const resolved = resolveMappings([bad], exists, knownClusters);
    expect(resolved.targets).toEqual([]);
    expect(resolved.problems[0]?.message).toMatch(message);
  });

  it('collapses duplicates', () => {
    const resolved = resolveMappings(
      [entry('lab-a', 101), entry('lab-a', 101), entry('lab-b', 101, 'bob')],
      exists,
      knownClusters,
    );
    expect(resolved.targets).toHaveLength(2);
    expect(resolved.users).toEqual(['alice', 'bob']);
  });

  it('caps a long problem list, counting the rest', () => {
    const problems = Array.from({ length: 250 }, (_, i) => ({ field: `body.u[${i}]`, message: 'x' }));
    const capped = capProblems(problems);
    expect(capped).toHaveLength(201);
    expect(capped[200]?.message).toBe('50 more problems not listed');
  });
});
