/**
 * The action's time settings, in a module without imports: the CDK app reads them too, and its
 * import graph (which keys the shipped sync definitions) stays free of the action code.
 */

/**
 * How long, from the request's arrival, an action waits for its Proxmox task before answering 202
 * pending: short, so that a page acting on VMs one after the other is never held up; the
 * confirmation then arrives through the list, `GET /api/vm/{vmid}/status` or live push.
 */
export const DEFAULT_ACTION_WAIT_MS = 5_000;
/**
 * The longest wait the setting accepts: with the call budget below and the table writes, an action
 * answers in about 11 s at worst, well inside the HTTP API's 30 s integration timeout.
 */
export const MAX_ACTION_WAIT_MS = 10_000;
/**
 * Time from the request's arrival that the Proxmox client set-up (a token secret fetch on a cold
 * start), the state check and the power call always get, even with a shorter wait: the call that
 * creates the task must have a fair chance to answer before the action gives up on it.
 */
export const ACTION_CALL_BUDGET_MS = 5_000;
/** Pause between task (or HA status) polls. */
export const DEFAULT_ACTION_POLL_MS = 1_000;
/** The action function's setting: seconds of {@link DEFAULT_ACTION_WAIT_MS} (0 to {@link MAX_ACTION_WAIT_MS}). */
export const ACTION_WAIT_ENV = 'ACTION_WAIT_SECONDS';
