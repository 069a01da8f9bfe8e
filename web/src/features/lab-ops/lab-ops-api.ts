import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { PendingAction } from '#shared/domain/vm-record.ts';
import { type BulkActionResponse, BulkActionResponseSchema } from '#shared/http/schemas/bulk.ts';
import { ClassScheduleResponseSchema, KeepRunningResponseSchema } from '#shared/http/schemas/schedules.ts';
import type { ClassScheduleSettings } from '#shared/schedules/class-schedule.ts';
import { useApi } from '../../lib/api-context.tsx';

/** The VM list's query key (the list refetches after a bulk action or "keep running"). */
const VMS_QUERY_KEY = ['vms'] as const;

/** What a bulk action is asked for: a list of VMs, or a class's VMs. */
export type BulkTarget =
  | { readonly vms: readonly { readonly cluster_id: string; readonly vmid: number }[] }
  | { readonly class_id: string };

/** POST /api/bulk-actions; the list refetches afterwards. */
export function useBulkAction() {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async ({ action, target }: { action: PendingAction; target: BulkTarget }) =>
      (await api.mutate('POST', '/api/bulk-actions', BulkActionResponseSchema, { action, ...target })).data,
    onSettled: () => queryClient.invalidateQueries({ queryKey: VMS_QUERY_KEY }),
  });
}

/** POST /api/vms/{cluster}/{vmid}/keep-running; the list refetches afterwards. */
export function useKeepRunning() {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (vm: { cluster_id: string; vmid: number }) =>
      (
        await api.mutate(
          'POST',
          `/api/vms/${encodeURIComponent(vm.cluster_id)}/${vm.vmid}/keep-running`,
          KeepRunningResponseSchema,
        )
      ).data,
    onSettled: () => queryClient.invalidateQueries({ queryKey: VMS_QUERY_KEY }),
  });
}

const scheduleKey = (classId: string) => ['class-schedule', classId] as const;

/** GET /api/classes/{classId}/schedule. */
export function useClassSchedule(classId: string) {
  const api = useApi();
  return useQuery({
    queryKey: scheduleKey(classId),
    queryFn: ({ signal }) =>
      api.get(`/api/classes/${encodeURIComponent(classId)}/schedule`, ClassScheduleResponseSchema, signal),
  });
}

/** PUT /api/classes/{classId}/schedule. */
export function useSaveClassSchedule(classId: string) {
  const api = useApi();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (settings: ClassScheduleSettings) =>
      (
        await api.mutate(
          'PUT',
          `/api/classes/${encodeURIComponent(classId)}/schedule`,
          ClassScheduleResponseSchema,
          settings,
        )
      ).data,
    onSuccess: (data) => queryClient.setQueryData(scheduleKey(classId), data),
  });
}

/** One line per outcome count, e.g. "28 done, 1 pending, 1 refused". */
export function summarizeBulk(result: BulkActionResponse): string {
  const parts = (['done', 'pending', 'refused', 'failed'] as const)
    .filter((outcome) => (result.counts[outcome] ?? 0) > 0)
    .map((outcome) => `${result.counts[outcome]} ${outcome}`);
  return parts.length === 0 ? 'no VM' : parts.join(', ');
}
