import { useVirtualizer } from '@tanstack/react-virtual';
import { memo, useRef } from 'react';
import type { IndexedVm } from './view-state.ts';
import { VM_COLUMNS, VmRow } from './vm-row.tsx';

/** Height of one row in pixels (fixed, so the virtualizer never measures). */
export const ROW_HEIGHT = 44;

/** Lists up to this many rows are rendered whole; longer ones are virtualized. */
export const VIRTUALIZE_FROM = 150;

interface VmGridProps {
  readonly rows: readonly IndexedVm[];
  readonly username: string;
  readonly label: string;
  readonly onError: (message: string) => void;
}

function Header() {
  return (
    <div role="row" aria-rowindex={1} className="vm-row vm-header">
      {VM_COLUMNS.map((column) => (
        <div key={column} role="columnheader">
          {column}
        </div>
      ))}
    </div>
  );
}

function VirtualRows({ rows, username, onError }: Omit<VmGridProps, 'label'>) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    // A few rows beyond the window: enough for smooth scrolling, few enough that a search which
    // replaces every visible row mounts little.
    overscan: 6,
    getItemKey: (index) => rows[index]?.key ?? index,
  });
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: the scroll area must be reachable by keyboard to scroll it.
    <div ref={scrollRef} className="grid-scroll" tabIndex={0} role="rowgroup" aria-label="VM rows">
      <div className="grid-spacer" style={{ height: virtualizer.getTotalSize() }}>
        {virtualizer.getVirtualItems().map((item) => {
          const row = rows[item.index];
          if (row === undefined) return null;
          return (
            <VmRow
              key={row.key}
              vm={row.vm}
              username={username}
              rowIndex={item.index + 2}
              onError={onError}
              offset={item.start}
            />
          );
        })}
      </div>
    </div>
  );
}

/**
 * The VM list as an ARIA table: whole for short lists, virtualized for long ones (2,000+ rows).
 * Memoized: the keystroke's urgent render (the search box) skips the grid; only the deferred one
 * with the filtered rows renders it.
 */
export const VmGrid = memo(function VmGrid({ rows, username, label, onError }: VmGridProps) {
  return (
    <div
      role="table"
      aria-label={label}
      aria-rowcount={rows.length + 1}
      className={rows.length > VIRTUALIZE_FROM ? 'vm-grid is-virtual' : 'vm-grid'}
    >
      <Header />
      {rows.length > VIRTUALIZE_FROM ? (
        <VirtualRows rows={rows} username={username} onError={onError} />
      ) : (
        <div role="rowgroup">
          {rows.map((row, index) => (
            <VmRow key={row.key} vm={row.vm} username={username} rowIndex={index + 2} onError={onError} />
          ))}
        </div>
      )}
    </div>
  );
});
