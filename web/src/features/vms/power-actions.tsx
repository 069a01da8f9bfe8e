import type { ApiVm, PendingAction } from '#shared/domain/vm-record.ts';
import { MenuButton } from '../../components/menu-button.tsx';
import { describeError } from '../../lib/api-client.ts';
import { usePowerAction } from './vm-api.ts';
import { ACTION_LABELS, forceStopQuestion, splitPowerActions } from './vm-rules.ts';

/**
 * The Actions cell: the primary power action as a button (start when stopped, shut down when
 * running) and the others in a "More" menu, so the cell stays narrow and every action stays
 * reachable by keyboard at any width. While an action is pending, one disabled button says so.
 */
export function PowerActions({ vm, onError }: { vm: ApiVm; onError: (message: string) => void }) {
  const mutation = usePowerAction(vm);
  if (mutation.isPending && mutation.variables !== undefined) {
    return (
      <button type="button" disabled aria-label={`${ACTION_LABELS[mutation.variables].pending} ${vm.name}`}>
        {ACTION_LABELS[mutation.variables].pending}
      </button>
    );
  }
  const { primary, more } = splitPowerActions(vm);
  if (primary === null) return <span className="muted">–</span>;
  const run = (action: PendingAction) => {
    // A hard stop is never one click away: it asks first (the graceful shutdown does not).
    if (action === 'stop' && !window.confirm(forceStopQuestion(vm.name))) return;
    mutation.mutate(action, {
      onError: (error) =>
        onError(`${vm.name}: ${ACTION_LABELS[action].label} failed. ${describeError(error)}`),
    });
  };
  return (
    <>
      <button
        type="button"
        aria-label={`${ACTION_LABELS[primary].label} ${vm.name}`}
        onClick={() => run(primary)}
      >
        {ACTION_LABELS[primary].label}
      </button>
      {more.length > 0 && (
        <MenuButton
          label="More"
          ariaLabel={`More actions for ${vm.name}`}
          items={more.map((action) => ({
            key: action,
            label: ACTION_LABELS[action].label,
            ariaLabel: `${ACTION_LABELS[action].label} ${vm.name}`,
            onSelect: () => run(action),
          }))}
        />
      )}
    </>
  );
}
