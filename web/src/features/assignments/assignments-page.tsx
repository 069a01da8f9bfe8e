import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import * as z from 'zod';
import { UsernameSchema } from '#shared/http/schemas/common.ts';
import {
  type AssignmentResponseItem,
  AssignmentResponseItemSchema,
  ListAssignmentsResponseSchema,
} from '#shared/http/schemas/ownership.ts';
import { ClusterIdInput } from '../../components/cluster-id-input.tsx';
import { NoticeBanner, useNotice } from '../../components/notice.tsx';
import { describeError } from '../../lib/api-client.ts';
import { useApi } from '../../lib/api-context.tsx';
import { parseVmReference } from '../../lib/vm-reference.ts';

/**
 * Admin: who is assigned which VM. Lists assignments (filtered by user or cluster, a page at a
 * time), assigns a VM to a user, and removes an assignment after asking. Suspended assignments
 * (the guest was removed from Proxmox) are marked: the sync suspends them, there is no route to do
 * it by hand.
 */

const ASSIGNMENTS_QUERY_KEY = ['assignments'] as const;
const PAGE_SIZE = 100;

/** An assignment form's fields, checked with the API's own schemas. */
export function parseAssignmentInput(input: {
  username: string;
  cluster: string;
  vmid: string;
}):
  | { ok: true; body: { username: string; cluster_id: string; vmid: number } }
  | { ok: false; reason: string } {
  const username = UsernameSchema.safeParse(input.username.trim());
  if (!username.success) return { ok: false, reason: 'Enter a username (no spaces or slashes).' };
  const ref = parseVmReference(input.cluster, input.vmid);
  if (!ref.ok) return ref;
  return { ok: true, body: { username: username.data, cluster_id: ref.cluster, vmid: ref.vmid } };
}

const label = (a: Pick<AssignmentResponseItem, 'username' | 'cluster_id' | 'vmid'>) =>
  `${a.username} → ${a.cluster_id}/${a.vmid}`;

export function AssignmentsPage() {
  const api = useApi();
  const queryClient = useQueryClient();
  const id = useId();
  const { notice, ok, error } = useNotice();
  const [filter, setFilter] = useState({ username: '', cluster: '' });
  const [applied, setApplied] = useState({ username: '', cluster: '' });
  const [form, setForm] = useState({ username: '', cluster: '', vmid: '' });

  const list = useInfiniteQuery({
    queryKey: [...ASSIGNMENTS_QUERY_KEY, applied],
    initialPageParam: null as string | null,
    queryFn: ({ pageParam, signal }) => {
      const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (applied.username !== '') query.set('username', applied.username);
      if (applied.cluster !== '') query.set('cluster', applied.cluster);
      if (pageParam !== null) query.set('cursor', pageParam);
      return api.get(`/api/assignments?${query}`, ListAssignmentsResponseSchema, signal);
    },
    getNextPageParam: (page) => page.next_cursor,
  });
  const settle = () => queryClient.invalidateQueries({ queryKey: ASSIGNMENTS_QUERY_KEY });
  const assign = useMutation({
    mutationFn: (body: { username: string; cluster_id: string; vmid: number }) =>
      api.mutate('PUT', '/api/assignments', AssignmentResponseItemSchema, body),
    onSettled: settle,
  });
  const unassign = useMutation({
    mutationFn: (a: AssignmentResponseItem) => {
      const query = new URLSearchParams({
        username: a.username,
        cluster: a.cluster_id,
        vmid: String(a.vmid),
      });
      return api.mutate('DELETE', `/api/assignments?${query}`, z.null());
    },
    onSettled: settle,
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseAssignmentInput(form);
    if (!parsed.ok) {
      error(parsed.reason);
      return;
    }
    assign.mutate(parsed.body, {
      onSuccess: ({ data }) => {
        setForm((f) => ({ ...f, vmid: '' }));
        ok(`Assigned: ${label(data)}.`);
      },
      onError: (cause) =>
        error(
          `${label(parsed.body)} could not be assigned. ${describeError(cause, 'No such VM in the inventory.')}`,
        ),
    });
  };

  const remove = (a: AssignmentResponseItem) => {
    if (!window.confirm(`Remove the assignment ${label(a)}? ${a.username} no longer sees this VM.`)) return;
    unassign.mutate(a, {
      onSuccess: () => ok(`Removed: ${label(a)}.`),
      onError: (cause) => error(`${label(a)} could not be removed. ${describeError(cause)}`),
    });
  };

  const rows = list.data?.pages.flatMap((page) => page.assignments) ?? [];
  return (
    <main aria-labelledby="page-title">
      <h1 id="page-title">Assignments</h1>
      <NoticeBanner notice={notice} />
      <form className="card inline-form" onSubmit={submit} aria-labelledby={`${id}-new`}>
        <h2 id={`${id}-new`}>Assign a VM</h2>
        <div className="field">
          <label htmlFor={`${id}-user`}>Username</label>
          <input
            id={`${id}-user`}
            autoComplete="off"
            value={form.username}
            onChange={(event) => setForm({ ...form, username: event.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-cluster`}>Cluster id</label>
          <ClusterIdInput
            id={`${id}-cluster`}
            value={form.cluster}
            onChange={(cluster) => setForm({ ...form, cluster })}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-vmid`}>VMID</label>
          <input
            id={`${id}-vmid`}
            inputMode="numeric"
            autoComplete="off"
            value={form.vmid}
            onChange={(event) => setForm({ ...form, vmid: event.target.value })}
          />
        </div>
        <button type="submit" disabled={assign.isPending}>
          Assign
        </button>
      </form>
      <form
        className="filters"
        aria-label="Filter assignments"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied({ username: filter.username.trim(), cluster: filter.cluster.trim() });
        }}
      >
        <div className="field">
          <label htmlFor={`${id}-f-user`}>User</label>
          <input
            id={`${id}-f-user`}
            value={filter.username}
            onChange={(event) => setFilter({ ...filter, username: event.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-f-cluster`}>Cluster</label>
          <input
            id={`${id}-f-cluster`}
            value={filter.cluster}
            onChange={(event) => setFilter({ ...filter, cluster: event.target.value })}
          />
        </div>
        <button type="submit" className="secondary">
          Filter
        </button>
      </form>
      {list.isPending && <p>Loading assignments…</p>}
      {list.isError && (
        <p className="banner banner-error" role="alert">
          {describeError(list.error)}
        </p>
      )}
      {list.data !== undefined && (
        <div className="table-wrap">
          <table>
            <caption>
              {rows.length} assignments{list.hasNextPage ? ' (more to load)' : ''}
            </caption>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Cluster</th>
                <th scope="col">VMID</th>
                <th scope="col">Source</th>
                <th scope="col">Class</th>
                <th scope="col">Suspended</th>
                <th scope="col">Since</th>
                <th scope="col">Change</th>
              </tr>
            </thead>
            <tbody>
              {rows.length === 0 && (
                <tr>
                  <td colSpan={8}>No assignments match.</td>
                </tr>
              )}
              {rows.map((a) => (
                <tr key={`${a.username}/${a.cluster_id}/${a.vmid}/${a.source}/${a.class_id ?? ''}`}>
                  <th scope="row">{a.username}</th>
                  <td>{a.cluster_id}</td>
                  <td>{a.vmid}</td>
                  <td>{a.source}</td>
                  <td>{a.class_id ?? '–'}</td>
                  <td>{a.suspended ? 'yes (guest removed)' : 'no'}</td>
                  <td>{a.created_at.slice(0, 10)}</td>
                  <td>
                    {a.source === 'class' ? (
                      <span className="muted">via its class</span>
                    ) : (
                      <button
                        type="button"
                        className="secondary"
                        disabled={unassign.isPending}
                        aria-label={`Remove ${label(a)}`}
                        onClick={() => remove(a)}
                      >
                        Remove
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.hasNextPage && (
        <button
          type="button"
          className="secondary"
          disabled={list.isFetchingNextPage}
          onClick={() => void list.fetchNextPage()}
        >
          Load more
        </button>
      )}
    </main>
  );
}
