import { type FormEvent, useId, useState } from 'react';
import type { ClassResponse } from '#shared/http/schemas/ownership.ts';
import { NoticeBanner, useNotice } from '../../components/notice.tsx';
import { describeError } from '../../lib/api-client.ts';
import { useAuth } from '../../lib/auth.tsx';
import { ClassPower } from '../lab-ops/class-power.tsx';
import { ScheduleSection } from '../lab-ops/schedule-editor.tsx';
import { CLASS_NOT_FOUND, ClassMembers } from './class-members.tsx';
import { ClassVms } from './class-vms.tsx';
import { classPowers, useClasses, useClassMutations } from './classes-api.ts';

/** Usernames typed as a comma- or space-separated list. */
export function parseUsernames(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter((name) => name !== ''))];
}

/** Admins: a form that creates a class (name, description, teachers; the first teacher owns it). */
function CreateClassForm({ report }: { report: (kind: 'ok' | 'error', text: string) => void }) {
  const id = useId();
  const { create } = useClassMutations();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [teachers, setTeachers] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (name.trim() === '') {
      report('error', 'Give the class a name.');
      return;
    }
    const list = parseUsernames(teachers);
    create.mutate(
      {
        name: name.trim(),
        description: description.trim() === '' ? null : description.trim(),
        ...(list.length > 0 ? { teachers: list } : {}),
      },
      {
        onSuccess: ({ data }) => {
          setName('');
          setDescription('');
          setTeachers('');
          report('ok', `Class ${data.name} was created.`);
        },
        onError: (error) => report('error', `The class could not be created. ${describeError(error)}`),
      },
    );
  };
  return (
    <form className="card inline-form" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>New class</h2>
      <div className="field">
        <label htmlFor={`${id}-name`}>Class name</label>
        <input id={`${id}-name`} value={name} onChange={(event) => setName(event.target.value)} />
      </div>
      <div className="field field-wide">
        <label htmlFor={`${id}-description`}>Description</label>
        <input
          id={`${id}-description`}
          value={description}
          onChange={(event) => setDescription(event.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-teachers`}>Teachers (comma-separated; the first owns it)</label>
        <input
          id={`${id}-teachers`}
          value={teachers}
          autoComplete="off"
          onChange={(event) => setTeachers(event.target.value)}
        />
      </div>
      <button type="submit" disabled={create.isPending}>
        Create class
      </button>
    </form>
  );
}

/** Rename or describe a class (admins and its teachers); admins also hand it to another of its teachers. */
function EditClassForm({
  cls,
  canChangeOwner,
  onDone,
  report,
}: {
  cls: ClassResponse;
  /** admins name another of the class's teachers as its owner */
  canChangeOwner: boolean;
  onDone: () => void;
  report: (kind: 'ok' | 'error', text: string) => void;
}) {
  const id = useId();
  const { update } = useClassMutations();
  const [name, setName] = useState(cls.name);
  const [description, setDescription] = useState(cls.description ?? '');
  const [owner, setOwner] = useState(cls.owner ?? '');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (name.trim() === '') {
      report('error', 'A class needs a name.');
      return;
    }
    update.mutate(
      {
        classId: cls.class_id,
        body: {
          name: name.trim(),
          description: description.trim() === '' ? null : description.trim(),
          ...(canChangeOwner && owner !== '' && owner !== cls.owner ? { owner } : {}),
        },
      },
      {
        onSuccess: ({ data }) => {
          report('ok', `Class ${data.name} was saved.`);
          onDone();
        },
        onError: (error) =>
          report('error', `The class could not be saved. ${describeError(error, CLASS_NOT_FOUND)}`),
      },
    );
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label={`Edit ${cls.name}`}>
      <div className="field">
        <label htmlFor={`${id}-name`}>Class name</label>
        <input id={`${id}-name`} value={name} onChange={(event) => setName(event.target.value)} />
      </div>
      <div className="field field-wide">
        <label htmlFor={`${id}-description`}>Description</label>
        <input
          id={`${id}-description`}
          value={description}
          onChange={(event) => setDescription(event.target.value)}
        />
      </div>
      {canChangeOwner && cls.teachers.length > 0 && (
        <div className="field">
          <label htmlFor={`${id}-owner`}>Owner</label>
          <select id={`${id}-owner`} value={owner} onChange={(event) => setOwner(event.target.value)}>
            {cls.owner === null && <option value="">none</option>}
            {cls.teachers.map((teacher) => (
              <option key={teacher} value={teacher}>
                {teacher}
              </option>
            ))}
          </select>
        </div>
      )}
      <button type="submit" disabled={update.isPending}>
        Save
      </button>
      <button type="button" className="secondary" onClick={onDone}>
        Cancel
      </button>
    </form>
  );
}

/** One class: its details, members and VMs, with the changes the user may make. */
function ClassCard({ cls, onDeleted }: { cls: ClassResponse; onDeleted: (name: string) => void }) {
  const { user } = useAuth();
  const { remove } = useClassMutations();
  const { notice, ok, error } = useNotice();
  const [editing, setEditing] = useState(false);
  const powers = classPowers(cls, user ?? { username: '', groups: [] });
  const report = (kind: 'ok' | 'error', text: string) => (kind === 'ok' ? ok(text) : error(text));
  const headingId = `class-${cls.class_id}`;

  const deleteClass = () => {
    if (
      !window.confirm(
        `Delete the class ${cls.name}? Its memberships and class VM assignments are removed; the VMs themselves stay.`,
      )
    )
      return;
    remove.mutate(cls.class_id, {
      onSuccess: () => onDeleted(cls.name),
      onError: (cause) => error(`The class could not be deleted. ${describeError(cause, CLASS_NOT_FOUND)}`),
    });
  };

  return (
    <section className="card" aria-labelledby={headingId}>
      <div className="page-head">
        <h2 id={headingId}>{cls.name}</h2>
        {(powers.manage || powers.remove) && (
          <div className="toolbar">
            {powers.manage && !editing && (
              <button
                type="button"
                className="secondary"
                aria-label={`Edit ${cls.name}`}
                onClick={() => setEditing(true)}
              >
                Edit
              </button>
            )}
            {powers.remove && (
              <button
                type="button"
                className="secondary"
                disabled={remove.isPending}
                aria-label={`Delete ${cls.name}`}
                onClick={deleteClass}
              >
                Delete
              </button>
            )}
          </div>
        )}
      </div>
      {editing ? (
        <EditClassForm
          cls={cls}
          canChangeOwner={powers.remove}
          onDone={() => setEditing(false)}
          report={report}
        />
      ) : (
        cls.description !== null && <p>{cls.description}</p>
      )}
      <NoticeBanner notice={notice} />
      <ClassMembers cls={cls} powers={powers} report={report} />
      <ClassVms cls={cls} powers={powers} report={report} />
      {powers.manage && (
        <>
          <ClassPower classId={cls.class_id} className={cls.name} />
          <ScheduleSection classId={cls.class_id} />
        </>
      )}
    </section>
  );
}

/**
 * Teachers and admins: the classes with their members and VMs. Admins create, edit and delete
 * classes and manage every class; a teacher manages the students and VMs of the classes they teach
 * (the class owner also its teachers).
 */
export function ClassesPage() {
  const { user } = useAuth();
  const classes = useClasses();
  const { notice, ok, error } = useNotice();
  const isAdmin = user?.groups.includes('admins') ?? false;
  return (
    <main aria-labelledby="page-title">
      <h1 id="page-title">Classes</h1>
      <NoticeBanner notice={notice} />
      {isAdmin && <CreateClassForm report={(kind, text) => (kind === 'ok' ? ok(text) : error(text))} />}
      {classes.isPending && <p>Loading classes…</p>}
      {classes.isError && (
        <p className="banner banner-error" role="alert">
          {describeError(classes.error)}
        </p>
      )}
      {classes.data?.classes.length === 0 && (
        <p>{isAdmin ? 'No class exists yet.' : 'You teach no class yet.'}</p>
      )}
      {classes.data?.classes.map((cls) => (
        <ClassCard key={cls.class_id} cls={cls} onDeleted={(name) => ok(`Class ${name} was deleted.`)} />
      ))}
    </main>
  );
}
