import { HttpError } from '#shared/http/errors.ts';

/**
 * Errors of the action service, named for the condition. The ones a client can act on are
 * `HttpError`s below 500; an unreachable Proxmox is not an `HttpError`: the handler turns it into
 * the 502 `UpstreamUnavailableError`, whose detail only admins get.
 */

/** What every caller reads when Proxmox refused an action (admins also get Proxmox's own text). */
export const ACTION_FAILED_MESSAGE = 'Proxmox refused the action or its task failed';

/**
 * 409: Proxmox refused the action or its task ended in error. `proxmoxMessage` is Proxmox's own
 * text (it may name nodes, paths or addresses): admins get it as `detail` with the task id, other
 * callers the generic {@link ACTION_FAILED_MESSAGE} and the request id.
 */
export class ActionFailedError extends HttpError {
  /** The task id when a task was created, else null (Proxmox refused the request itself). */
  readonly upid: string | null;
  /** Proxmox's own text. */
  readonly proxmoxMessage: string;

  constructor(proxmoxMessage: string, upid: string | null, cause?: unknown) {
    super(409, 'action_failed', ACTION_FAILED_MESSAGE, {
      details: upid === null ? [] : [{ upid }],
      adminOnlyDetails: true,
      adminDetail: proxmoxMessage,
      cause,
    });
    this.upid = upid;
    this.proxmoxMessage = proxmoxMessage;
  }
}

/** 409: another action is still pending on the VM; it must finish (or expire) first. */
export class OtherActionPendingError extends HttpError {
  constructor(pendingAction: string, upid: string | null) {
    super(409, 'action_pending', `Another action (${pendingAction}) is still pending on this VM`, {
      details: [{ pending_action: pendingAction, upid }],
    });
  }
}

/** Proxmox could not be reached (connection, TLS, token, node unreachable): the action was not run. */
export class ProxmoxUnavailableError extends Error {
  override readonly name = 'ProxmoxUnavailableError';
}
