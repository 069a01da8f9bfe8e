import { useQuery } from '@tanstack/react-query';
import { ListClassesResponseSchema } from '#shared/http/schemas/ownership.ts';
import { describeError } from '../../lib/api-client.ts';
import { useApi } from '../../lib/api-context.tsx';
import { ClassPower } from '../lab-ops/class-power.tsx';
import { ScheduleEditor } from '../lab-ops/schedule-editor.tsx';

/** Teachers (and admins): the classes with their teachers, students and class VMs, as the API lists them. */
export function ClassesPage() {
  const api = useApi();
  const classes = useQuery({
    queryKey: ['classes'],
    queryFn: ({ signal }) => api.get('/api/classes', ListClassesResponseSchema, signal),
  });
  return (
    <main aria-labelledby="page-title">
      <h1 id="page-title">Classes</h1>
      {classes.isPending && <p>Loading classes…</p>}
      {classes.isError && (
        <p className="banner banner-error" role="alert">
          {describeError(classes.error)}
        </p>
      )}
      {classes.data?.classes.length === 0 && <p>You teach no class yet.</p>}
      {classes.data?.classes.map((cls) => (
        <section key={cls.class_id} className="card" aria-labelledby={`class-${cls.class_id}`}>
          <h2 id={`class-${cls.class_id}`}>{cls.name}</h2>
          {cls.description !== null && <p>{cls.description}</p>}
          <p>
            Teachers: {cls.teachers.join(', ') || 'none'} · Students: {cls.students.join(', ') || 'none'}
          </p>
          <div className="table-wrap">
            <table>
              <caption>Class VMs</caption>
              <thead>
                <tr>
                  <th scope="col">Cluster</th>
                  <th scope="col">VMID</th>
                  <th scope="col">Student</th>
                  <th scope="col">Suspended</th>
                </tr>
              </thead>
              <tbody>
                {cls.vms.map((vm) => (
                  <tr key={`${vm.cluster_id}/${vm.vmid}`}>
                    <td>{vm.cluster_id}</td>
                    <td>{vm.vmid}</td>
                    <td>{vm.student ?? 'unassigned'}</td>
                    <td>{vm.suspended ? 'yes' : 'no'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <ClassPower classId={cls.class_id} className={cls.name} />
          <details>
            <summary>Schedule</summary>
            <ScheduleEditor classId={cls.class_id} />
          </details>
        </section>
      ))}
    </main>
  );
}
