import { describe, expect, it } from 'vitest';
import { matchesVersionEtag, validUntil, versionBasis, versionEtag } from '#shared/api/list-etag.ts';
import { type ClusterState, ClusterStateSchema } from '#shared/domain/sync-state.ts';

const T0 = Date.parse('2026-12-01T10:00:00Z');
const CUTOFF = 600_000;

function state(overrides: Partial<ClusterState> = {}): ClusterState {
  return ClusterStateSchema.parse({
    cluster_id: 'lab-a',
    last_success_at: T0,
    inventory_version: 'v1',
    nodes: { pve1: { online: true, last_seen_at: T0, last_online_at: T0 - 60_000, runtime_at: T0 } },
    ...overrides,
  });
}

const basisOf = (states: ClusterState[], ownershipVersion: string | null = null, admin = true) =>
  versionBasis({
    caller: { username: 'u', roles: { admin, teacher: false } },
    query: {},
    staleAfterMs: CUTOFF,
    states,
    ownershipVersion,
    admin,
  });

describe('the versions ETag of the list', () => {
  it('has no basis without every version (the body tag is used then)', () => {
    expect(basisOf([state({ inventory_version: undefined })])).toBeNull();
    expect(
      basisOf([state({ nodes: { pve1: { online: true, last_seen_at: T0, last_online_at: T0 } } })]),
    ).toBeNull();
    expect(basisOf([state()], null, false)).toBeNull();
    expect(basisOf([state()], 'o1', false)).not.toBeNull();
  });

  it('changes with any version, not with updated_at', () => {
    const base = basisOf([state()]);
    expect(basisOf([state({ updated_at: T0 + 5 })])).toBe(base);
    expect(basisOf([state({ inventory_version: 'v2' })])).not.toBe(base);
    expect(basisOf([state({ last_success_at: T0 + 30_000 })])).not.toBe(base);
  });

  it('is valid until the first staleness cutoff or pending expiry after now', () => {
    const states = [state()];
    // The node was last online a minute before the cluster's last success: it turns stale first.
    expect(validUntil(states, [], T0, CUTOFF)).toBe(T0 - 60_000 + CUTOFF + 1);
    const pending = [{ pending_since: new Date(T0 - 100_000).toISOString() }];
    expect(validUntil(states, pending, T0, CUTOFF)).toBe(T0 - 100_000 + 120_000 + 1);
    // Past moments do not count: after every cutoff only the day's bound is left.
    expect(validUntil(states, [], T0 + CUTOFF + 1, CUTOFF)).toBe(T0 + CUTOFF + 1 + 24 * 3600_000);
  });

  it('matches a tag only while it is valid and made from the same versions', () => {
    const basis = basisOf([state()]) ?? '';
    const until = T0 + 1_000;
    const tag = versionEtag(basis, until);
    expect(matchesVersionEtag(tag, basis, T0)).toBe(tag);
    expect(matchesVersionEtag(`"other", ${tag}`, basis, T0)).toBe(tag);
    expect(matchesVersionEtag(tag, basis, until)).toBeNull();
    expect(matchesVersionEtag(tag, basisOf([state({ inventory_version: 'v2' })]) ?? '', T0)).toBeNull();
    // A client cannot stretch the validity: the moment is part of the hash.
    const stretched = tag.replace(until.toString(36), (until + 10_000).toString(36));
    expect(matchesVersionEtag(stretched, basis, T0 + 5_000)).toBeNull();
    expect(matchesVersionEtag(undefined, basis, T0)).toBeNull();
  });
});
