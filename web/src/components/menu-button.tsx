import { type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';

/** One entry of a {@link MenuButton}. */
export interface MenuItem {
  readonly key: string;
  /** What the entry shows. */
  readonly label: string;
  /** The accessible name, when the label alone is ambiguous (e.g. names the VM too). */
  readonly ariaLabel?: string;
  readonly onSelect: () => void;
}

/**
 * Whether the menu's bottom edge is hidden by its nearest scrolling ancestor while there is room
 * above its button (then it opens upward).
 */
function opensUpward(menu: HTMLElement | null): boolean {
  const anchor = menu?.parentElement;
  if (menu === null || anchor == null) return false;
  for (let box = anchor.parentElement; box !== null; box = box.parentElement) {
    const style = getComputedStyle(box);
    if (style.overflowX === 'visible' && style.overflowY === 'visible') continue;
    const bounds = box.getBoundingClientRect();
    const menuBox = menu.getBoundingClientRect();
    return (
      menuBox.bottom > bounds.bottom && anchor.getBoundingClientRect().top - menuBox.height >= bounds.top
    );
  }
  return false;
}

/** The entries of an open menu, in order. */
function menuEntries(menu: HTMLElement | null): HTMLElement[] {
  return [...(menu?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
}

/**
 * A button that opens a small menu (the WAI-ARIA menu button pattern): Enter, Space or Arrow Down
 * open it on the first entry, Arrow Up on the last; arrows move, Home/End jump, Escape closes and
 * returns focus to the button, Tab or a click elsewhere closes it. The menu is positioned by CSS
 * under the button, so it is never clipped by a narrow cell.
 */
export function MenuButton({
  label,
  ariaLabel,
  items,
}: {
  label: string;
  ariaLabel: string;
  items: readonly MenuItem[];
}) {
  const [open, setOpen] = useState<false | 'first' | 'last'>(false);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const menuRef = useRef<HTMLDivElement>(null);
  const wrapRef = useRef<HTMLDivElement>(null);
  const menuId = useId();

  const [upward, setUpward] = useState(false);
  const entries = () => menuEntries(menuRef.current);

  useEffect(() => {
    if (open === false) return;
    setUpward(opensUpward(menuRef.current));
    const list = menuEntries(menuRef.current);
    (open === 'first' ? list[0] : list[list.length - 1])?.focus();
    const closeOutside = (event: PointerEvent) => {
      if (event.target instanceof Node && wrapRef.current?.contains(event.target)) return;
      setOpen(false);
    };
    document.addEventListener('pointerdown', closeOutside);
    return () => document.removeEventListener('pointerdown', closeOutside);
  }, [open]);

  const close = (refocus: boolean) => {
    setOpen(false);
    if (refocus) buttonRef.current?.focus();
  };

  const onButtonKey = (event: KeyboardEvent) => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      setOpen(event.key === 'ArrowDown' ? 'first' : 'last');
    }
  };

  const onMenuKey = (event: KeyboardEvent) => {
    const list = entries();
    const active = document.activeElement;
    const at = active instanceof HTMLElement ? list.indexOf(active) : -1;
    const focus = (index: number) => list[(index + list.length) % list.length]?.focus();
    switch (event.key) {
      case 'ArrowDown':
        event.preventDefault();
        focus(at + 1);
        break;
      case 'ArrowUp':
        event.preventDefault();
        focus(at - 1);
        break;
      case 'Home':
        event.preventDefault();
        focus(0);
        break;
      case 'End':
        event.preventDefault();
        focus(list.length - 1);
        break;
      case 'Escape':
        event.preventDefault();
        close(true);
        break;
      case 'Tab':
        setOpen(false);
        break;
    }
  };

  return (
    <div className="menu-wrap" ref={wrapRef}>
      <button
        ref={buttonRef}
        type="button"
        className="secondary"
        aria-haspopup="menu"
        aria-expanded={open !== false}
        aria-controls={open !== false ? menuId : undefined}
        aria-label={ariaLabel}
        onClick={() => (open === false ? setOpen('first') : close(false))}
        onKeyDown={onButtonKey}
      >
        {label} <span aria-hidden="true">▾</span>
      </button>
      {open !== false && (
        <div
          id={menuId}
          ref={menuRef}
          role="menu"
          aria-label={ariaLabel}
          className={upward ? 'menu menu-up' : 'menu'}
          onKeyDown={onMenuKey}
        >
          {items.map((item) => (
            <button
              key={item.key}
              type="button"
              role="menuitem"
              tabIndex={-1}
              aria-label={item.ariaLabel}
              onClick={() => {
                close(true);
                item.onSelect();
              }}
            >
              {item.label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
