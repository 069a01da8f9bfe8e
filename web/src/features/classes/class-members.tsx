import { type FormEvent, useId, useState } from 'react';
import type { ClassRole } from '#shared/domain/ownership.ts';
import type { ClassResponse } from '#shared/http/schemas/ownership.ts';
import { describeError } from '../../lib/api-client.ts';
import { type ClassPowers, useClassMutations } from './classes-api.ts';

/** What a 404 means on a class route. */
export const CLASS_NOT_FOUND = 'This class no longer exists, or you no longer teach it. Reload the page.';

/** The members of a class, in the order shown: teachers first, then students, each by name. */
export function classMembers(cls: Pick<ClassResponse, 'teachers' | 'students'>) {
  return [
    ...cls.teachers.map((username) => ({ username, role: 'teacher' as const })),
    ...cls.students.map((username) => ({ username, role: 'student' as const })),
  ];
}

/**
 * A class's teachers and students; for those who manage it, "Remove" (asked first) and a form to
 * add a member. The teacher role is offered only to admins and the class owner, as the API rules.
 */
export function ClassMembers({
  cls,
  powers,
  report,
}: {
  cls: ClassResponse;
  powers: ClassPowers;
  report: (kind: 'ok' | 'error', text: string) => void;
}) {
  const id = useId();
  const { putMember, removeMember } = useClassMutations();
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<ClassRole>('student');
  const busy = putMember.isPending || removeMember.isPending;

  const add = (event: FormEvent) => {
    event.preventDefault();
    const name = username.trim();
    if (name === '') {
      report('error', 'Enter the username of the member to add.');
      return;
    }
    putMember.mutate(
      { classId: cls.class_id, username: name, role },
      {
        onSuccess: () => {
          setUsername('');
          report('ok', `${name} is now a ${role} of ${cls.name}.`);
        },
        onError: (error) =>
          report('error', `${name} could not be added. ${describeError(error, CLASS_NOT_FOUND)}`),
      },
    );
  };

  const remove = (member: string) => {
    if (!window.confirm(`Remove ${member} from ${cls.name}? Their class VMs stay in the class, unassigned.`))
      return;
    removeMember.mutate(
      { classId: cls.class_id, username: member },
      {
        onSuccess: () => report('ok', `${member} was removed from ${cls.name}.`),
        onError: (error) =>
          report('error', `${member} could not be removed. ${describeError(error, CLASS_NOT_FOUND)}`),
      },
    );
  };

  const members = classMembers(cls);
  return (
    <div className="class-part">
      <div className="table-wrap">
        <table>
          <caption>Members</caption>
          <thead>
            <tr>
              <th scope="col">Username</th>
              <th scope="col">Role</th>
              {powers.manage && <th scope="col">Change</th>}
            </tr>
          </thead>
          <tbody>
            {members.length === 0 && (
              <tr>
                <td colSpan={powers.manage ? 3 : 2}>No members yet.</td>
              </tr>
            )}
            {members.map((member) => {
              const removable =
                member.username !== cls.owner && (member.role === 'student' || powers.teachers);
              return (
                <tr key={`${member.role}/${member.username}`}>
                  <th scope="row">{member.username}</th>
                  <td>
                    {member.role}
                    {member.username === cls.owner ? ' (owner)' : ''}
                  </td>
                  {powers.manage && (
                    <td>
                      {removable ? (
                        <button
                          type="button"
                          className="secondary"
                          disabled={busy}
                          aria-label={`Remove ${member.username} from ${cls.name}`}
                          onClick={() => remove(member.username)}
                        >
                          Remove
                        </button>
                      ) : (
                        <span className="muted">–</span>
                      )}
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {powers.manage && (
        <form className="inline-form" onSubmit={add} aria-label={`Add a member to ${cls.name}`}>
          <div className="field">
            <label htmlFor={`${id}-user`}>Username</label>
            <input
              id={`${id}-user`}
              value={username}
              autoComplete="off"
              onChange={(event) => setUsername(event.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor={`${id}-role`}>Role</label>
            <select
              id={`${id}-role`}
              value={role}
              onChange={(event) => setRole(event.target.value === 'teacher' ? 'teacher' : 'student')}
            >
              <option value="student">student</option>
              {powers.teachers && <option value="teacher">teacher</option>}
            </select>
          </div>
          <button type="submit" disabled={busy}>
            Add member
          </button>
        </form>
      )}
    </div>
  );
}
