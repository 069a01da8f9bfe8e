import { useCallback, useSyncExternalStore } from 'react';

/**
 * A tiny history router: the pathname picks the page, the query string keeps the view (search,
 * filters, sort) so a view can be shared as a link. `replace` is used for typing so the back
 * button does not step through every keystroke.
 */

const listeners = new Set<() => void>();
const notify = () => {
  for (const listener of listeners) listener();
};
if (typeof window !== 'undefined') window.addEventListener('popstate', notify);

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const snapshot = () => `${window.location.pathname}${window.location.search}`;

/** Navigates within the app (push, or replace for in-page view changes). */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  notify();
}

/** The current pathname and query, re-rendering on navigation. */
export function useLocation(): { pathname: string; search: URLSearchParams } {
  const href = useSyncExternalStore(subscribe, snapshot, () => '/');
  const at = href.indexOf('?');
  return {
    pathname: at === -1 ? href : href.slice(0, at),
    search: new URLSearchParams(at === -1 ? '' : href.slice(at + 1)),
  };
}

/** Replaces the query string (keeps the path). */
export function useSetSearch(): (params: URLSearchParams) => void {
  return useCallback((params: URLSearchParams) => {
    const query = params.toString();
    navigate(`${window.location.pathname}${query === '' ? '' : `?${query}`}`, { replace: true });
  }, []);
}

/** An in-app link. */
export function Link({ to, children, current }: { to: string; children: string; current?: boolean }) {
  return (
    <a
      href={to}
      aria-current={current ? 'page' : undefined}
      onClick={(event) => {
        if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
        event.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}
