import { useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';
import { VMS_QUERY_KEY, type VmListData } from '../features/vms/vm-api.ts';

/**
 * The clusters the user's VM list already holds (id and display name), by id: forms that ask for a
 * cluster id suggest them, since the lists show clusters by name. Read from the cache only (no
 * request of its own).
 */
export function useKnownClusters(): { id: string; name: string }[] {
  const queryClient = useQueryClient();
  const data = queryClient.getQueryData<VmListData>(VMS_QUERY_KEY);
  return useMemo(() => {
    const byId = new Map<string, string>();
    for (const vm of data?.vms ?? []) byId.set(vm.cluster_id, vm.cluster_name);
    return [...byId].map(([id, name]) => ({ id, name })).sort((a, b) => a.id.localeCompare(b.id));
  }, [data]);
}

/** A cluster id field that suggests the known clusters (free text stays possible). */
export function ClusterIdInput({
  id,
  value,
  onChange,
}: {
  id: string;
  value: string;
  onChange: (value: string) => void;
}) {
  const clusters = useKnownClusters();
  const listId = `${id}-clusters`;
  return (
    <>
      <input
        id={id}
        value={value}
        autoComplete="off"
        list={clusters.length > 0 ? listId : undefined}
        onChange={(event) => onChange(event.target.value)}
      />
      {clusters.length > 0 && (
        <datalist id={listId}>
          {clusters.map((cluster) => (
            <option key={cluster.id} value={cluster.id} label={cluster.name} />
          ))}
        </datalist>
      )}
    </>
  );
}
