/**
 * Every `error.code` the API answers, with its status and meaning: the one list the OpenAPI
 * document, the README's error table and the tests read. The error classes (errors.ts,
 * shared/actions/errors.ts) and the action handler's 502 use these codes.
 */

/** One documented error code. */
export interface ErrorCodeInfo {
  readonly status: number;
  /** What it means and what to do, one sentence (README and OpenAPI). */
  readonly meaning: string;
  /** An example body's message. */
  readonly example: string;
  /** An example body's details, if the code carries any. */
  readonly details?: readonly unknown[];
}

/** The error codes of the API, in status order. */
export const ERROR_CODES = {
  bad_request: {
    status: 400,
    meaning:
      '`details: [{field, message}]` names every bad field, e.g. `query.limit`, `path.vmid`, `body.teachers[1]`',
    example: 'The request is invalid',
    details: [{ field: 'query.limit', message: 'Too big: expected number to be <=2000' }],
  },
  unauthorized: {
    status: 401,
    meaning: 'the token was accepted by the authorizer but names no usable user',
    example: 'The token names no usable user',
  },
  forbidden: {
    status: 403,
    meaning: "the caller's role does not allow this",
    example: 'Admins only',
  },
  not_found: {
    status: 404,
    meaning: 'does not exist, or is not visible to the caller (never says which); also an unknown route',
    example: 'VM not found',
  },
  conflict: {
    status: 409,
    meaning:
      'conflicts with the current state; `details` say with what (e.g. the clusters of an ambiguous VMID, or a template)',
    example: 'VM 101 exists on several clusters: add ?cluster=<cluster_id> (lab-a, lab-b)',
    details: [
      { cluster_id: 'lab-a', vmid: 101 },
      { cluster_id: 'lab-b', vmid: 101 },
    ],
  },
  action_pending: {
    status: 409,
    meaning: 'another power action on this VM is still pending; `details` carry its action and UPID',
    example: 'Another action (start) is still pending on this VM',
    details: [
      {
        pending_action: 'start',
        upid: 'UPID:pve1:0001A2B3:0C4D5E6F:65A1B2C3:qmstart:101:inventory@pve!sync:',
      },
    ],
  },
  action_failed: {
    status: 409,
    meaning:
      "Proxmox refused or failed the action; the message is Proxmox's, `details` carry the task's UPID",
    example: 'VM 101 already running',
    details: [{ upid: 'UPID:pve1:0001A2B3:0C4D5E6F:65A1B2C3:qmstart:101:inventory@pve!sync:' }],
  },
  payload_too_large: {
    status: 413,
    meaning:
      "a body over the route's documented limit (bytes, or users/entries of an import); the message names it",
    example: 'The body is larger than 1048576 bytes',
  },
  too_many_requests: {
    status: 429,
    meaning: 'rate limited; wait for `retry-after` seconds',
    example: 'Too many requests',
  },
  internal_error: {
    status: 500,
    meaning: "never with detail: the detail is only in the function's log",
    example: 'Internal server error',
  },
  proxmox_unavailable: {
    status: 502,
    meaning: "the VM's cluster could not be reached for an action; nothing was changed",
    example: 'Proxmox is unavailable: connect ECONNREFUSED',
  },
} as const satisfies Record<string, ErrorCodeInfo>;

/** An error code of the API. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Every error code, in status order. */
export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as ErrorCode[];

/** The example error body of a code. */
export function exampleErrorBody(code: ErrorCode): {
  error: { code: string; message: string; details?: unknown[] };
} {
  const info: ErrorCodeInfo = ERROR_CODES[code];
  return {
    error: {
      code,
      message: info.example,
      ...(info.details === undefined ? {} : { details: [...info.details] }),
    },
  };
}

/** The README's error-code table (between its `error-codes` markers), rendered from {@link ERROR_CODES}. */
export function renderErrorCodeTable(): string {
  const rows = ERROR_CODE_LIST.map(
    (code) => `| \`${code}\` | ${ERROR_CODES[code].status} | ${ERROR_CODES[code].meaning} |`,
  );
  return ['| code | status | meaning |', '|---|---|---|', ...rows].join('\n');
}
