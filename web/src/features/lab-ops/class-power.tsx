import type { PendingAction } from '#shared/domain/vm-record.ts';
import { describeError } from '../../lib/api-client.ts';
import { BulkResult } from './bulk-result.tsx';
import { useBulkAction } from './lab-ops-api.ts';

/** "Start class" / "Shut down class": every VM of the class in one bulk request. */
export function ClassPower({ classId, className }: { classId: string; className: string }) {
  const bulk = useBulkAction();
  const run = (action: PendingAction) => bulk.mutate({ action, target: { class_id: classId } });
  return (
    <div className="class-power">
      <button type="button" disabled={bulk.isPending} onClick={() => run('start')}>
        Start {className}
      </button>{' '}
      <button type="button" className="secondary" disabled={bulk.isPending} onClick={() => run('shutdown')}>
        Shut down {className}
      </button>
      {bulk.isPending && <p>Working…</p>}
      {bulk.isError && (
        <p className="banner banner-error" role="alert">
          {describeError(bulk.error)}
        </p>
      )}
      {bulk.data !== undefined && <BulkResult result={bulk.data} />}
    </div>
  );
}
