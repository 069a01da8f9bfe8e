import { type FormEvent, useState } from 'react';
import type { ClassScheduleSettings } from '#shared/schedules/class-schedule.ts';
import { describeError } from '../../lib/api-client.ts';
import { useClassSchedule, useSaveClassSchedule } from './lab-ops-api.ts';

const browserZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** The form's fields, as text (empty = off). */
interface Fields {
  timezone: string;
  start: string;
  shutdown: string;
  maxUptime: string;
  idle: boolean;
  idleCpu: string;
  idleMinutes: string;
}

/**
 * A class's schedule as a simple form: start and shutdown times as cron (in a time zone), the
 * maximum uptime, the idle rule. The API checks every field and names a bad one.
 */
export function ScheduleEditor({ classId }: { classId: string }) {
  const current = useClassSchedule(classId);
  const save = useSaveClassSchedule(classId);
  const [edited, setEdited] = useState<Fields | null>(null);
  if (current.isPending) return <p>Loading the schedule…</p>;
  if (current.isError) return <p role="alert">{describeError(current.error)}</p>;
  const schedule = current.data.schedule;
  const fields: Fields = edited ?? {
    timezone: schedule?.timezone ?? browserZone(),
    start: schedule?.start_cron ?? '',
    shutdown: schedule?.shutdown_cron ?? '',
    maxUptime:
      schedule?.max_uptime_hours === null || schedule === null ? '' : String(schedule.max_uptime_hours),
    idle: schedule?.idle?.enabled ?? false,
    idleCpu: String(schedule?.idle?.cpu_below_percent ?? 5),
    idleMinutes: String(schedule?.idle?.minutes ?? 60),
  };
  const set = (patch: Partial<Fields>) => setEdited({ ...fields, ...patch });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const settings: ClassScheduleSettings = {
      timezone: fields.timezone.trim(),
      start_cron: fields.start.trim() === '' ? null : fields.start.trim(),
      shutdown_cron: fields.shutdown.trim() === '' ? null : fields.shutdown.trim(),
      max_uptime_hours: fields.maxUptime.trim() === '' ? null : Number(fields.maxUptime),
      idle: fields.idle
        ? { enabled: true, cpu_below_percent: Number(fields.idleCpu), minutes: Number(fields.idleMinutes) }
        : null,
    };
    save.mutate(settings, { onSuccess: () => setEdited(null) });
  };
  const id = (name: string) => `schedule-${classId}-${name}`;
  return (
    <form className="schedule-editor" onSubmit={submit} aria-label={`Schedule of ${classId}`}>
      <p>Times are cron (minute hour day month weekday), e.g. "0 22 * * *" for 22:00 every day.</p>
      <label htmlFor={id('tz')}>Time zone</label>
      <input id={id('tz')} value={fields.timezone} onChange={(e) => set({ timezone: e.target.value })} />
      <label htmlFor={id('start')}>Start the VMs at</label>
      <input
        id={id('start')}
        value={fields.start}
        placeholder="45 7 * * 1-5"
        onChange={(e) => set({ start: e.target.value })}
      />
      <label htmlFor={id('shutdown')}>Shut the VMs down at</label>
      <input
        id={id('shutdown')}
        value={fields.shutdown}
        placeholder="0 22 * * *"
        onChange={(e) => set({ shutdown: e.target.value })}
      />
      <label htmlFor={id('uptime')}>Shut a VM down after (hours of uptime)</label>
      <input
        id={id('uptime')}
        inputMode="numeric"
        value={fields.maxUptime}
        onChange={(e) => set({ maxUptime: e.target.value })}
      />
      <label>
        <input type="checkbox" checked={fields.idle} onChange={(e) => set({ idle: e.target.checked })} /> Shut
        idle VMs down
      </label>
      {fields.idle && (
        <>
          <label htmlFor={id('cpu')}>when CPU stays below (%)</label>
          <input
            id={id('cpu')}
            inputMode="decimal"
            value={fields.idleCpu}
            onChange={(e) => set({ idleCpu: e.target.value })}
          />
          <label htmlFor={id('minutes')}>for (minutes)</label>
          <input
            id={id('minutes')}
            inputMode="numeric"
            value={fields.idleMinutes}
            onChange={(e) => set({ idleMinutes: e.target.value })}
          />
        </>
      )}
      <button type="submit" disabled={save.isPending}>
        {save.isPending ? 'Saving…' : 'Save schedule'}
      </button>
      {save.isError && (
        <p className="banner banner-error" role="alert">
          {describeError(save.error)}
        </p>
      )}
      {save.isSuccess && edited === null && <p role="status">Schedule saved.</p>}
    </form>
  );
}

/** "Schedule": the class's schedule form, read from the API only once the section is opened. */
export function ScheduleSection({ classId }: { classId: string }) {
  const [open, setOpen] = useState(false);
  return (
    <details onToggle={(event) => setOpen(event.currentTarget.open)}>
      <summary>Schedule</summary>
      {open && <ScheduleEditor classId={classId} />}
    </details>
  );
}
