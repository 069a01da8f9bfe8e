import type { EndpointClass } from '#shared/proxmox/endpoint-class.ts';

/** Where a Proxmox error happened; every typed error carries it. */
export interface ProxmoxErrorContext {
  clusterId: string;
  endpointClass: EndpointClass;
  /** HTTP status when the server answered. */
  status?: number;
  /** Proxmox node the call was about (node-proxied calls), when known. */
  node?: string;
  cause?: unknown;
}

/**
 * Base of every error the Proxmox client throws. Messages and properties never contain the API
 * token secret: the client scrubs every server-supplied text before it gets here.
 */
export class ProxmoxError extends Error {
  readonly clusterId: string;
  readonly endpointClass: EndpointClass;
  readonly status?: number;
  readonly node?: string;

  constructor(message: string, context: ProxmoxErrorContext) {
    super(message, context.cause === undefined ? undefined : { cause: context.cause });
    this.name = new.target.name;
    this.clusterId = context.clusterId;
    this.endpointClass = context.endpointClass;
    if (context.status !== undefined) this.status = context.status;
    if (context.node !== undefined) this.node = context.node;
  }
}

/** 401: the token is wrong, revoked, expired or its user is disabled. */
export class ProxmoxAuthError extends ProxmoxError {}

/** 403: the token lacks a privilege; `privilege` names it when the server or the call class tells. */
export class ProxmoxPermissionError extends ProxmoxError {
  /** ACL path from the server's message, e.g. `/vms/100`. */
  readonly aclPath?: string;
  /** Missing privilege(s), e.g. `VM.Monitor`, or for the agent on an unknown version `VM.Monitor|VM.GuestAgent.Audit`. */
  readonly privilege?: string;

  constructor(message: string, context: ProxmoxErrorContext & { aclPath?: string; privilege?: string }) {
    super(message, context);
    if (context.aclPath !== undefined) this.aclPath = context.aclPath;
    if (context.privilege !== undefined) this.privilege = context.privilege;
  }
}

/** The guest or task does not exist on that node (wrong node after a migration, deleted VM, unknown node). */
export class ProxmoxNotFoundError extends ProxmoxError {}

/** 595/596: the contacted node could not reach the guest's node (node offline or overloaded). */
export class ProxmoxNodeUnreachableError extends ProxmoxError {}

/** No endpoint of the cluster accepted a connection (all refused, unreachable or cooling down). */
export class ProxmoxConnectionError extends ProxmoxError {}

/** The TLS handshake failed: unknown CA, or the certificate does not match the pinned fingerprint. */
export class ProxmoxTlsError extends ProxmoxError {}

/** Which part of a call ran out of time. */
export type TimeoutPhase = 'connect' | 'headers' | 'body' | 'task';

/** A call (or a task wait) ran out of time in the given phase. */
export class ProxmoxTimeoutError extends ProxmoxError {
  readonly phase: TimeoutPhase;
  readonly timeoutMs: number;

  constructor(message: string, context: ProxmoxErrorContext & { phase: TimeoutPhase; timeoutMs: number }) {
    super(message, context);
    this.phase = context.phase;
    this.timeoutMs = context.timeoutMs;
  }
}

/** Any other error status; `message` holds the server's text (reason phrase or JSON `message`). */
export class ProxmoxApiError extends ProxmoxError {
  /** The server's error text, scrubbed. */
  readonly serverMessage: string;

  constructor(message: string, context: ProxmoxErrorContext & { serverMessage: string }) {
    super(message, context);
    this.serverMessage = context.serverMessage;
  }
}

/** The server answered 2xx with a body that is not JSON or does not match the expected shape. */
export class ProxmoxInvalidResponseError extends ProxmoxError {
  /** Short description of what was wrong (zod issue paths), never the body itself. */
  readonly problem: string;

  constructor(message: string, context: ProxmoxErrorContext & { problem: string }) {
    super(message, context);
    this.problem = context.problem;
  }
}
