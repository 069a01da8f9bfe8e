import { useCallback, useState } from 'react';

/** The outcome of the last action on a part of a page, in words. */
export type Notice = { readonly kind: 'ok' | 'error'; readonly text: string } | null;

/** A notice and its setters (`ok`, `error`, `clear`). */
export function useNotice() {
  const [notice, setNotice] = useState<Notice>(null);
  const ok = useCallback((text: string) => setNotice({ kind: 'ok', text }), []);
  const error = useCallback((text: string) => setNotice({ kind: 'error', text }), []);
  const clear = useCallback(() => setNotice(null), []);
  return { notice, ok, error, clear };
}

/** Shows a notice: errors as an alert, successes as a polite status. */
export function NoticeBanner({ notice }: { notice: Notice }) {
  if (notice === null) return null;
  return notice.kind === 'ok' ? (
    <p className="banner banner-ok" role="status">
      {notice.text}
    </p>
  ) : (
    <p className="banner banner-error" role="alert">
      {notice.text}
    </p>
  );
}
