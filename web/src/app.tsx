import { lazy, Suspense } from 'react';
import { VmListPage } from './features/vms/vm-list-page.tsx';
import { useAuth } from './lib/auth.tsx';
import { Link, useLocation } from './lib/router.tsx';

// Pages beyond the VM list load on first use, so the first page's JavaScript stays small.
const ClassesPage = lazy(() =>
  import('./features/classes/classes-page.tsx').then((m) => ({ default: m.ClassesPage })),
);
const AssignmentsPage = lazy(() =>
  import('./features/assignments/assignments-page.tsx').then((m) => ({ default: m.AssignmentsPage })),
);
const SyncHealthPage = lazy(() =>
  import('./features/sync-health/sync-health-page.tsx').then((m) => ({ default: m.SyncHealthPage })),
);
const MappingsImportPage = lazy(() =>
  import('./features/ownership/mappings-import-page.tsx').then((m) => ({ default: m.MappingsImportPage })),
);

/** The signed-in shell: navigation by role, the page for the path, sign-out. */
export function App() {
  const { user, signOut } = useAuth();
  const { pathname } = useLocation();
  const isAdmin = user?.groups.includes('admins') ?? false;
  const isTeacher = isAdmin || (user?.groups.includes('teachers') ?? false);
  const links = [
    { to: '/', label: 'My VMs', show: true },
    { to: '/classes', label: 'Classes', show: isTeacher },
    { to: '/admin/vms', label: 'All VMs', show: isAdmin },
    { to: '/admin/assignments', label: 'Assignments', show: isAdmin },
    { to: '/admin/sync', label: 'Sync health', show: isAdmin },
    { to: '/admin/import', label: 'Import mappings', show: isAdmin },
  ].filter((link) => link.show);

  let page = <VmListPage title="My VMs" />;
  if (pathname === '/classes' && isTeacher) page = <ClassesPage />;
  else if (pathname === '/admin/vms' && isAdmin) page = <VmListPage title="All VMs" troubleshooting />;
  else if (pathname === '/admin/assignments' && isAdmin) page = <AssignmentsPage />;
  else if (pathname === '/admin/sync' && isAdmin) page = <SyncHealthPage />;
  else if (pathname === '/admin/import' && isAdmin) page = <MappingsImportPage />;

  return (
    <>
      <a className="skip-link" href="#content">
        Skip to content
      </a>
      <header className="app-header">
        <span className="brand">Lab VMs</span>
        <nav aria-label="Main">
          <ul>
            {links.map((link) => (
              <li key={link.to}>
                <Link to={link.to} current={pathname === link.to}>
                  {link.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="user">
          <span>
            Signed in as <strong>{user?.username}</strong>
          </span>
          <button type="button" className="secondary" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <div id="content">
        <Suspense fallback={<p className="center">Loading…</p>}>{page}</Suspense>
      </div>
    </>
  );
}
