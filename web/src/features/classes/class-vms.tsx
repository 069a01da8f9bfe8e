import { type FormEvent, useId, useState } from 'react';
import type { ClassResponse } from '#shared/http/schemas/ownership.ts';
import { ClusterIdInput } from '../../components/cluster-id-input.tsx';
import { describeError } from '../../lib/api-client.ts';
import { parseVmReference } from '../../lib/vm-reference.ts';
import { CLASS_NOT_FOUND } from './class-members.tsx';
import { type ClassPowers, useClassMutations } from './classes-api.ts';

/**
 * A class's VMs with the student each is assigned to; for those who manage the class, "Remove"
 * (asked first) and a form that adds a VM or (for a VM already in the class) changes its student.
 */
export function ClassVms({
  cls,
  powers,
  report,
}: {
  cls: ClassResponse;
  powers: ClassPowers;
  report: (kind: 'ok' | 'error', text: string) => void;
}) {
  const id = useId();
  const { putVm, removeVm } = useClassMutations();
  const [cluster, setCluster] = useState('');
  const [vmid, setVmid] = useState('');
  const [student, setStudent] = useState('');
  const busy = putVm.isPending || removeVm.isPending;

  const add = (event: FormEvent) => {
    event.preventDefault();
    const ref = parseVmReference(cluster, vmid);
    if (!ref.ok) {
      report('error', ref.reason);
      return;
    }
    const label = `${ref.cluster}/${ref.vmid}`;
    putVm.mutate(
      {
        classId: cls.class_id,
        cluster: ref.cluster,
        vmid: ref.vmid,
        student: student === '' ? null : student,
      },
      {
        onSuccess: () => {
          setVmid('');
          report('ok', `VM ${label} is in ${cls.name}${student === '' ? '' : `, assigned to ${student}`}.`);
        },
        onError: (error) =>
          report(
            'error',
            `VM ${label} could not be added. ${describeError(error, 'No such VM that you may add, or the class no longer exists.')}`,
          ),
      },
    );
  };

  const remove = (vm: { cluster_id: string; vmid: number; student: string | null }) => {
    const label = `${vm.cluster_id}/${vm.vmid}`;
    const whose = vm.student === null ? '' : ` ${vm.student} loses access to it.`;
    if (!window.confirm(`Remove VM ${label} from ${cls.name}?${whose}`)) return;
    removeVm.mutate(
      { classId: cls.class_id, cluster: vm.cluster_id, vmid: vm.vmid },
      {
        onSuccess: () => report('ok', `VM ${label} was removed from ${cls.name}.`),
        onError: (error) =>
          report('error', `VM ${label} could not be removed. ${describeError(error, CLASS_NOT_FOUND)}`),
      },
    );
  };

  return (
    <div className="class-part">
      <div className="table-wrap">
        <table>
          <caption>Class VMs</caption>
          <thead>
            <tr>
              <th scope="col">Cluster</th>
              <th scope="col">VMID</th>
              <th scope="col">Student</th>
              <th scope="col">Suspended</th>
              {powers.manage && <th scope="col">Change</th>}
            </tr>
          </thead>
          <tbody>
            {cls.vms.length === 0 && (
              <tr>
                <td colSpan={powers.manage ? 5 : 4}>No VMs in this class yet.</td>
              </tr>
            )}
            {cls.vms.map((vm) => (
              <tr key={`${vm.cluster_id}/${vm.vmid}`}>
                <td>{vm.cluster_id}</td>
                <td>{vm.vmid}</td>
                <td>{vm.student ?? 'unassigned'}</td>
                <td>{vm.suspended ? 'yes' : 'no'}</td>
                {powers.manage && (
                  <td>
                    <button
                      type="button"
                      className="secondary"
                      disabled={busy}
                      aria-label={`Remove VM ${vm.cluster_id}/${vm.vmid} from ${cls.name}`}
                      onClick={() => remove(vm)}
                    >
                      Remove
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {powers.manage && (
        <form className="inline-form" onSubmit={add} aria-label={`Add a VM to ${cls.name}`}>
          <div className="field">
            <label htmlFor={`${id}-cluster`}>Cluster id</label>
            <ClusterIdInput id={`${id}-cluster`} value={cluster} onChange={setCluster} />
          </div>
          <div className="field">
            <label htmlFor={`${id}-vmid`}>VMID</label>
            <input
              id={`${id}-vmid`}
              inputMode="numeric"
              value={vmid}
              autoComplete="off"
              onChange={(event) => setVmid(event.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor={`${id}-student`}>Student</label>
            <select id={`${id}-student`} value={student} onChange={(event) => setStudent(event.target.value)}>
              <option value="">unassigned</option>
              {cls.students.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </div>
          <button type="submit" disabled={busy}>
            Add VM
          </button>
        </form>
      )}
    </div>
  );
}
