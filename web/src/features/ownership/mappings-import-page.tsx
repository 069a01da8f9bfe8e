import { useMutation } from '@tanstack/react-query';
import { useId, useState } from 'react';
import * as z from 'zod';
import {
  type ImportMappingsBody,
  ImportMappingsBodySchema,
  type ImportMappingsResponse,
  ImportMappingsResponseSchema,
} from '#shared/http/schemas/ownership.ts';
import { describeError } from '../../lib/api-client.ts';
import { useApi } from '../../lib/api-context.tsx';

/** The file's text as a mappings body, or the reasons it is not one. */
export function parseMappingsFile(
  text: string,
): { ok: true; body: ImportMappingsBody } | { ok: false; reason: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'The file is not valid JSON.' };
  }
  const parsed = ImportMappingsBodySchema.safeParse(raw);
  if (!parsed.success)
    return { ok: false, reason: `The file is not a mappings.json: ${z.prettifyError(parsed.error)}` };
  return { ok: true, body: parsed.data };
}

/**
 * Admin: import the original portal's mappings.json. A dry run first shows what would change; only
 * that previewed file (and cluster) can then be applied. The API imports all or nothing.
 */
export function MappingsImportPage() {
  const api = useApi();
  const id = useId();
  const [text, setText] = useState('');
  const [cluster, setCluster] = useState('');
  const [preview, setPreview] = useState<{ key: string; result: ImportMappingsResponse } | null>(null);
  const [applied, setApplied] = useState<ImportMappingsResponse | null>(null);
  const parsed = text.trim() === '' ? null : parseMappingsFile(text);
  const key = `${cluster}\u0000${text}`;
  const run = useMutation({
    mutationFn: ({ body, dryRun }: { body: ImportMappingsBody; dryRun: boolean }) => {
      const query = new URLSearchParams({ dry_run: String(dryRun) });
      if (cluster !== '') query.set('cluster', cluster);
      return api.mutate('POST', `/api/assignments/import?${query}`, ImportMappingsResponseSchema, body);
    },
    onSuccess: ({ data }) => {
      if (data.dry_run) setPreview({ key, result: data });
      else {
        setApplied(data);
        setPreview(null);
      }
    },
  });
  const previewed = preview !== null && preview.key === key ? preview.result : null;

  return (
    <main aria-labelledby="page-title">
      <h1 id="page-title">Import mappings.json</h1>
      <p>
        Assign VMs to users from the original portal's mappings file. Preview the changes, then apply them.
      </p>
      <div className="filters">
        <div className="field">
          <label htmlFor={`${id}-file`}>mappings.json file</label>
          <input
            id={`${id}-file`}
            type="file"
            accept="application/json,.json"
            onChange={(event) => {
              const file = event.target.files?.[0];
              setApplied(null);
              if (file !== undefined) void file.text().then(setText);
            }}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-cluster`}>Cluster of bare VMIDs (optional)</label>
          <input id={`${id}-cluster`} value={cluster} onChange={(e) => setCluster(e.target.value.trim())} />
        </div>
      </div>
      <div className="field field-wide">
        <label htmlFor={`${id}-text`}>Or paste its contents</label>
        <textarea
          id={`${id}-text`}
          rows={6}
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setApplied(null);
          }}
        />
      </div>
      {parsed !== null && !parsed.ok && (
        <p className="banner banner-error" role="alert">
          {parsed.reason}
        </p>
      )}
      <div className="toolbar">
        <button
          type="button"
          disabled={parsed?.ok !== true || run.isPending}
          onClick={() => parsed?.ok === true && run.mutate({ body: parsed.body, dryRun: true })}
        >
          Preview changes
        </button>
        <button
          type="button"
          disabled={parsed?.ok !== true || previewed === null || run.isPending}
          onClick={() => parsed?.ok === true && run.mutate({ body: parsed.body, dryRun: false })}
        >
          Apply import
        </button>
      </div>
      {run.isError && (
        <p className="banner banner-error" role="alert">
          {describeError(run.error)}
        </p>
      )}
      {previewed !== null && (
        <section className="card" aria-labelledby={`${id}-preview`}>
          <h2 id={`${id}-preview`}>Preview (nothing changed yet)</h2>
          <p>
            {previewed.users} users, {previewed.assignments} assignments: {previewed.created} would be
            created, {previewed.unchanged} are already in place.
          </p>
        </section>
      )}
      {applied !== null && (
        <p className="banner banner-ok" role="status">
          Imported: {applied.created} assignments created, {applied.unchanged} unchanged ({applied.users}{' '}
          users).
        </p>
      )}
    </main>
  );
}
