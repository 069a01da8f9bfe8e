import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { MappingsImportPage, parseMappingsFile } from '../src/features/ownership/mappings-import-page.tsx';
import { ApiClient } from '../src/lib/api-client.ts';
import { ApiProvider } from '../src/lib/api-context.tsx';

/** The mappings import: parsed on the client, previewed with a dry run, applied only after a preview. */

function renderPage() {
  const calls: string[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    calls.push(`${init?.method} ${url.pathname}${url.search} ${String(init?.body)}`);
    const dryRun = url.searchParams.get('dry_run') === 'true';
    return new Response(
      JSON.stringify({ dry_run: dryRun, users: 2, assignments: 3, created: 2, unchanged: 1 }),
      { status: 200 },
    );
  };
  render(
    <QueryClientProvider client={new QueryClient()}>
      <ApiProvider client={new ApiClient('http://api.test', () => 'token', fetchImpl)}>
        <MappingsImportPage />
      </ApiProvider>
    </QueryClientProvider>,
  );
  return calls;
}

afterEach(cleanup);

describe('mappings import', () => {
  it('checks the file on the client and names what is wrong', () => {
    expect(parseMappingsFile('{nope')).toEqual({ ok: false, reason: 'The file is not valid JSON.' });
    expect(parseMappingsFile('{"alice": [101, "lab-b:102"]}').ok).toBe(true);
    const bad = parseMappingsFile('{"alice": "101"}');
    expect(bad.ok).toBe(false);
  });

  it('previews with a dry run, then applies exactly the previewed file', async () => {
    const calls = renderPage();
    const user = userEvent.setup();
    const apply = screen.getByRole('button', { name: 'Apply import' });
    await user.click(screen.getByRole('textbox', { name: 'Or paste its contents' }));
    await user.paste('{"alice": [101], "bob": ["lab-b:102"]}');
    await user.type(screen.getByRole('textbox', { name: 'Cluster of bare VMIDs (optional)' }), 'lab-a');
    expect(apply).toHaveProperty('disabled', true);
    await user.click(screen.getByRole('button', { name: 'Preview changes' }));
    expect(await screen.findByText(/2 would be created, 1 are already in place/)).toBeTruthy();
    expect(calls[0]).toBe(
      'POST /api/assignments/import?dry_run=true&cluster=lab-a {"alice":[101],"bob":["lab-b:102"]}',
    );
    expect(apply).toHaveProperty('disabled', false);
    await user.click(apply);
    expect(await screen.findByText(/Imported: 2 assignments created, 1 unchanged/)).toBeTruthy();
    expect(calls[1]).toBe(
      'POST /api/assignments/import?dry_run=false&cluster=lab-a {"alice":[101],"bob":["lab-b:102"]}',
    );
  });

  it('needs a new preview after the file changes', async () => {
    renderPage();
    const user = userEvent.setup();
    const box = screen.getByRole('textbox', { name: 'Or paste its contents' });
    await user.click(box);
    await user.paste('{"alice": [101]}');
    await user.click(screen.getByRole('button', { name: 'Preview changes' }));
    await screen.findByText(/would be created/);
    expect(screen.getByRole('button', { name: 'Apply import' })).toHaveProperty('disabled', false);
    await user.type(box, ' ');
    expect(screen.getByRole('button', { name: 'Apply import' })).toHaveProperty('disabled', true);
  });
});
