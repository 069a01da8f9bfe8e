import { HttpError } from '#shared/http/errors.ts';

/**
 * Errors of the action service, named for the condition. The ones a client can act on are
 * `HttpError`s below 500 (their message reaches the client); an unreachable Proxmox is not, because
 * the middleware hides every 5xx message: the handler turns it into a 502 itself.
 */

/** 409: Proxmox refused the action or its task ended in error; `message` is Proxmox's own text. */
export class ActionFailedError extends HttpError {
  /** The task id when a task was created, else null (Proxmox refused the request itself). */
  readonly upid: string | null;

  constructor(message: string, upid: string | null, cause?: unknown) {
    super(409, 'action_failed', message, { details: upid === null ? [] : [{ upid }], cause });
    this.upid = upid;
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
