import { type QueryClient, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import * as z from 'zod';
import type { ClassRole } from '#shared/domain/ownership.ts';
import {
  type ClassResponse,
  ClassResponseSchema,
  type CreateClassBody,
  type ListClassesResponse,
  ListClassesResponseSchema,
  type UpdateClassBody,
} from '#shared/http/schemas/ownership.ts';
import { useApi } from '../../lib/api-context.tsx';

/**
 * The classes' server state: the list query and one mutation per class route. Each write answers
 * the class as it is now, which replaces the class in the cached list at once; the list is then
 * re-read so that it also reflects what others changed.
 */

export const CLASSES_QUERY_KEY = ['classes'] as const;

const NoContentSchema = z.null();

/** The classes the caller may see (admins: all). */
export function useClasses() {
  const api = useApi();
  return useQuery({
    queryKey: CLASSES_QUERY_KEY,
    queryFn: ({ signal }) => api.get('/api/classes', ListClassesResponseSchema, signal),
  });
}

/** Puts a class as the API answered it into the cached list (added when new), sorted by name. */
export function withClass(
  list: ListClassesResponse | undefined,
  updated: ClassResponse,
): ListClassesResponse {
  const others = (list?.classes ?? []).filter((cls) => cls.class_id !== updated.class_id);
  return { classes: [...others, updated].sort((a, b) => a.name.localeCompare(b.name)) };
}

/** Drops a class from the cached list. */
export function withoutClass(list: ListClassesResponse | undefined, classId: string): ListClassesResponse {
  return { classes: (list?.classes ?? []).filter((cls) => cls.class_id !== classId) };
}

function storeClass(queryClient: QueryClient, updated: ClassResponse): void {
  queryClient.setQueryData<ListClassesResponse>(CLASSES_QUERY_KEY, (list) => withClass(list, updated));
}

const classPath = (classId: string) => `/api/classes/${encodeURIComponent(classId)}`;

/** The writes on classes (each route's own rules are the API's: a 403/409 comes back in words). */
export function useClassMutations() {
  const api = useApi();
  const queryClient = useQueryClient();
  const settle = () => queryClient.invalidateQueries({ queryKey: CLASSES_QUERY_KEY });
  const onClass = ({ data }: { data: ClassResponse }) => storeClass(queryClient, data);

  const create = useMutation({
    mutationFn: (body: CreateClassBody) => api.mutate('POST', '/api/classes', ClassResponseSchema, body),
    onSuccess: onClass,
    onSettled: settle,
  });
  const update = useMutation({
    mutationFn: ({ classId, body }: { classId: string; body: UpdateClassBody }) =>
      api.mutate('PUT', classPath(classId), ClassResponseSchema, body),
    onSuccess: onClass,
    onSettled: settle,
  });
  const remove = useMutation({
    mutationFn: (classId: string) => api.mutate('DELETE', classPath(classId), NoContentSchema),
    onSuccess: (_answer, classId) =>
      queryClient.setQueryData<ListClassesResponse>(CLASSES_QUERY_KEY, (list) => withoutClass(list, classId)),
    onSettled: settle,
  });
  const putMember = useMutation({
    mutationFn: ({ classId, username, role }: { classId: string; username: string; role: ClassRole }) =>
      api.mutate(
        'PUT',
        `${classPath(classId)}/members/${encodeURIComponent(username)}`,
        ClassResponseSchema,
        { role },
      ),
    onSuccess: onClass,
    onSettled: settle,
  });
  const removeMember = useMutation({
    mutationFn: ({ classId, username }: { classId: string; username: string }) =>
      api.mutate('DELETE', `${classPath(classId)}/members/${encodeURIComponent(username)}`, NoContentSchema),
    onSettled: settle,
  });
  const putVm = useMutation({
    mutationFn: ({
      classId,
      cluster,
      vmid,
      student,
    }: {
      classId: string;
      cluster: string;
      vmid: number;
      student: string | null;
    }) =>
      api.mutate(
        'PUT',
        `${classPath(classId)}/vms/${encodeURIComponent(cluster)}/${vmid}`,
        ClassResponseSchema,
        { student },
      ),
    onSuccess: onClass,
    onSettled: settle,
  });
  const removeVm = useMutation({
    mutationFn: ({ classId, cluster, vmid }: { classId: string; cluster: string; vmid: number }) =>
      api.mutate(
        'DELETE',
        `${classPath(classId)}/vms/${encodeURIComponent(cluster)}/${vmid}`,
        NoContentSchema,
      ),
    onSettled: settle,
  });
  return { create, update, remove, putMember, removeMember, putVm, removeVm };
}

/** What the signed-in user may do with a class in the portal (the API enforces the same rules). */
export interface ClassPowers {
  /** rename, describe, manage students and class VMs */
  readonly manage: boolean;
  /** grant or remove the teacher role */
  readonly teachers: boolean;
  /** delete the class */
  readonly remove: boolean;
}

/**
 * The portal's view of the API's class rules: admins do everything; a teacher of the class (the
 * teachers group and listed as its teacher) manages it, and its owner also grants the teacher
 * role; only admins delete a class. Anyone else only reads.
 */
export function classPowers(
  cls: Pick<ClassResponse, 'teachers' | 'owner'>,
  user: { username: string; groups: readonly string[] },
): ClassPowers {
  if (user.groups.includes('admins')) return { manage: true, teachers: true, remove: true };
  const teaches = user.groups.includes('teachers') && cls.teachers.includes(user.username);
  return { manage: teaches, teachers: teaches && cls.owner === user.username, remove: false };
}
