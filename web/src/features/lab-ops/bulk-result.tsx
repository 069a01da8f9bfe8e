import type { BulkActionResponse } from '#shared/http/schemas/bulk.ts';
import { summarizeBulk } from './lab-ops-api.ts';

/** A bulk action's answer: the counts, then every VM that was not done with its reason. */
export function BulkResult({ result }: { result: BulkActionResponse }) {
  const notDone = result.results.filter((line) => line.outcome !== 'done');
  return (
    <div role="status" className="bulk-result">
      <p>
        {result.action}: {summarizeBulk(result)}
      </p>
      {notDone.length > 0 && (
        <ul>
          {notDone.map((line) => (
            <li key={`${line.cluster_id}/${line.vmid}`}>
              {line.cluster_id}/{line.vmid}: {line.outcome}
              {line.reason === null ? '' : ` (${line.reason})`}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
