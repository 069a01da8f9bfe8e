import * as z from 'zod';
import type { ErrorCode } from '#shared/http/error-codes.ts';
import {
  VmActionDoneResponseSchema,
  VmActionPathSchema,
  VmActionPendingResponseSchema,
  VmActionQuerySchema,
} from '#shared/http/schemas/actions.ts';
import { ListAuditQuerySchema, ListAuditResponseSchema } from '#shared/http/schemas/audit.ts';
import {
  BulkActionBodySchema,
  BulkActionPathSchema,
  BulkActionResponseSchema,
} from '#shared/http/schemas/bulk.ts';
import { VmHistoryQuerySchema, VmHistoryResponseSchema } from '#shared/http/schemas/history.ts';
import {
  AssignmentResponseItemSchema,
  ClassMemberPathSchema,
  ClassPathSchema,
  ClassResponseSchema,
  ClassVmPathSchema,
  CreateClassBodySchema,
  DeleteAssignmentQuerySchema,
  ImportMappingsBodySchema,
  ImportMappingsQuerySchema,
  ImportMappingsResponseSchema,
  ListAssignmentsQuerySchema,
  ListAssignmentsResponseSchema,
  ListClassesResponseSchema,
  MAPPINGS_IMPORT_LIMITS,
  PutAssignmentBodySchema,
  PutClassMemberBodySchema,
  PutClassVmBodySchema,
  UpdateClassBodySchema,
} from '#shared/http/schemas/ownership.ts';
import {
  ClassScheduleResponseSchema,
  KeepRunningPathSchema,
  KeepRunningResponseSchema,
  PutClassScheduleBodySchema,
} from '#shared/http/schemas/schedules.ts';
import {
  SyncHealthResponseSchema,
  SyncStatsResponseSchema,
  TriggerSyncBodySchema,
  TriggerSyncHttpResponseSchema,
} from '#shared/http/schemas/sync.ts';
import {
  ListVmsQuerySchema,
  ListVmsResponseSchema,
  VmByVmidPathSchema,
  VmByVmidQuerySchema,
  VmIpResponseSchema,
  VmPathSchema,
  VmSchema,
  VmStatusResponseSchema,
} from '#shared/http/schemas/vms.ts';

/**
 * THE route table: defined once, used by the CDK ApiStack, the local gateway, the OpenAPI
 * generator and the tests. Infra reads `handler` as an entry path string and never imports a
 * handler body; this module imports only zod schemas.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** `jwt`: behind the JWT authorizer; `public`: no authorizer. */
export type RouteAuth = 'jwt' | 'public';

/** Request schemas of a route. Path and query schemas are objects of string-typed inputs. */
export interface RouteRequestSchemas {
  readonly path?: z.ZodType<unknown, Record<string, string>>;
  readonly query?: z.ZodType<unknown, Record<string, string>>;
  readonly body?: z.ZodType;
}

/** One documented answer of a route. */
export interface RouteResponse {
  readonly description: string;
  /** absent for answers without a body (204, 304) */
  readonly schema?: z.ZodType;
}

/** A route of the HTTP API. */
export interface RouteDefinition<
  TRequest extends RouteRequestSchemas = RouteRequestSchemas,
  TAuth extends RouteAuth = RouteAuth,
> {
  /** Stable id: operationId in OpenAPI, key of injected handlers in tests, construct id in CDK. */
  readonly id: string;
  readonly method: HttpMethod;
  /** API Gateway path syntax, e.g. `/api/vms/{cluster}/{vmid}`. */
  readonly path: string;
  /** `jwt`: behind the JWT authorizer; `public`: no authorizer. */
  readonly auth: TAuth;
  /** Lambda entry, relative to the project root (`functions/api/<file>.ts`). */
  readonly handler: string;
  /** `vpc` only for handlers that call Proxmox. */
  readonly placement: 'outside-vpc' | 'vpc';
  readonly summary: string;
  /** OpenAPI tag grouping the route. */
  readonly tag: string;
  readonly request: TRequest;
  /**
   * Largest body the route accepts, in bytes (UTF-8); a larger one is refused with 413 before it
   * is parsed. @default no limit below the gateway's own
   */
  readonly maxBodyBytes?: number;
  /** Documented success answers by status code (errors are added by the OpenAPI generator). */
  readonly responses: Readonly<Record<number, RouteResponse>>;
  /**
   * Error codes this route answers beyond the generic ones the generator derives (bad_request for
   * routes with input, unauthorized/forbidden behind the authorizer, not_found with a path,
   * too_many_requests and internal_error everywhere).
   */
  readonly errors?: readonly ErrorCode[];
}

/** Identity function that keeps a route's literal types (so handlers get typed input). */
export function defineRoute<const TRequest extends RouteRequestSchemas, const TAuth extends RouteAuth>(
  route: RouteDefinition<TRequest, TAuth>,
): RouteDefinition<TRequest, TAuth> {
  return route;
}

/** `METHOD /path`, the API Gateway route key. */
export function routeKey(route: Pick<RouteDefinition, 'method' | 'path'>): string {
  return `${route.method} ${route.path}`;
}

/** The OpenAPI document is a free-form JSON object. */
const OpenApiDocumentSchema = z.record(z.string(), z.unknown());

/** Every route of the API, by id. */
export const routes = {
  listVms: defineRoute({
    id: 'listVms',
    method: 'GET',
    path: '/api/vms',
    auth: 'jwt',
    handler: 'functions/api/list-vms.ts',
    placement: 'outside-vpc',
    summary:
      "List the VMs the caller may see (own, their classes' as a teacher, all as an admin); ETag/304, gzip",
    tag: 'vms',
    request: { query: ListVmsQuerySchema },
    responses: {
      200: { description: 'The VMs', schema: ListVmsResponseSchema },
      304: { description: 'Not modified (If-None-Match matched the ETag)' },
    },
  }),
  getVm: defineRoute({
    id: 'getVm',
    method: 'GET',
    path: '/api/vms/{cluster}/{vmid}',
    auth: 'jwt',
    handler: 'functions/api/get-vm.ts',
    placement: 'outside-vpc',
    summary: "One VM; 404 when it does not exist or is not the caller's",
    tag: 'vms',
    request: { path: VmPathSchema },
    responses: { 200: { description: 'The VM', schema: VmSchema } },
  }),
  getVmHistory: defineRoute({
    id: 'getVmHistory',
    method: 'GET',
    path: '/api/vms/{cluster}/{vmid}/history',
    auth: 'jwt',
    handler: 'functions/api/vm-history.ts',
    placement: 'outside-vpc',
    summary:
      "A VM's CPU and memory use over time (1h or 24h at 1 minute, 14d at 15 minutes; avg and max); 404 when it does not exist or is not the caller's",
    tag: 'vms',
    request: { path: VmPathSchema, query: VmHistoryQuerySchema },
    responses: { 200: { description: 'The history, oldest first', schema: VmHistoryResponseSchema } },
  }),
  getVmStatus: defineRoute({
    id: 'getVmStatus',
    method: 'GET',
    path: '/api/vm/{vmid}/status',
    auth: 'jwt',
    handler: 'functions/api/vm-status.ts',
    placement: 'outside-vpc',
    summary:
      "One VM by bare VMID with ok: true (the original portal's poll); cluster resolved as for actions (?cluster=, else 409 listing them)",
    tag: 'vms',
    request: { path: VmByVmidPathSchema, query: VmByVmidQuerySchema },
    responses: { 200: { description: 'The VM, from the table', schema: VmStatusResponseSchema } },
    // the VMID names VMs on several clusters the caller may see and no ?cluster= picks one
    errors: ['conflict'],
  }),
  getVmIp: defineRoute({
    id: 'getVmIp',
    method: 'GET',
    path: '/api/vm/{vmid}/ip',
    auth: 'jwt',
    handler: 'functions/api/vm-ip.ts',
    placement: 'outside-vpc',
    summary:
      "A VM's IP and status by bare VMID ({ok, vmid, ip, status}, the original portal's route); cluster resolved as for actions",
    tag: 'vms',
    request: { path: VmByVmidPathSchema, query: VmByVmidQuerySchema },
    responses: { 200: { description: 'IP and status, from the table', schema: VmIpResponseSchema } },
    // the VMID names VMs on several clusters the caller may see and no ?cluster= picks one
    errors: ['conflict'],
  }),
  getSyncStats: defineRoute({
    id: 'getSyncStats',
    method: 'GET',
    path: '/api/sync/stats',
    auth: 'jwt',
    handler: 'functions/api/sync-stats.ts',
    placement: 'outside-vpc',
    summary: 'Sync statistics counted over what the caller may see',
    tag: 'sync',
    request: {},
    responses: { 200: { description: 'Statistics', schema: SyncStatsResponseSchema } },
  }),
  getSyncHealth: defineRoute({
    id: 'getSyncHealth',
    method: 'GET',
    path: '/api/sync/health',
    auth: 'public',
    handler: 'functions/api/sync-health.ts',
    placement: 'outside-vpc',
    summary: 'Health of the sync (public: counts only, no names); 503 when unhealthy',
    tag: 'sync',
    request: {},
    responses: {
      200: { description: 'Healthy', schema: SyncHealthResponseSchema },
      503: { description: 'Unhealthy', schema: SyncHealthResponseSchema },
    },
  }),
  triggerSync: defineRoute({
    id: 'triggerSync',
    method: 'POST',
    path: '/api/sync/trigger',
    auth: 'jwt',
    handler: 'functions/api/sync-trigger.ts',
    placement: 'outside-vpc',
    summary: 'Admins: start a sync now (coalesced with a running one)',
    tag: 'sync',
    request: { body: TriggerSyncBodySchema },
    responses: { 202: { description: 'Started or joined', schema: TriggerSyncHttpResponseSchema } },
  }),
  vmAction: defineRoute({
    id: 'vmAction',
    method: 'POST',
    path: '/api/vm/{vmid}/{action}',
    auth: 'jwt',
    handler: 'functions/api/vm-action.ts',
    placement: 'vpc',
    summary: 'Power action on a VM (owner, teacher of its class, admin)',
    tag: 'vms',
    request: { path: VmActionPathSchema, query: VmActionQuerySchema },
    responses: {
      200: { description: 'Done and confirmed', schema: VmActionDoneResponseSchema },
      202: { description: 'Still running; the next sync confirms it', schema: VmActionPendingResponseSchema },
    },
    errors: ['conflict', 'action_pending', 'action_failed', 'proxmox_unavailable'],
  }),
  bulkAction: defineRoute({
    id: 'bulkAction',
    method: 'POST',
    path: '/api/bulk-actions',
    auth: 'jwt',
    handler: 'functions/api/bulk-action.ts',
    placement: 'vpc',
    summary:
      "Power action on many VMs (a list, or a class's VMs for its teachers and admins): each VM checked, " +
      'pending and confirmed as a single action, at most the per-node worker limit at once; one line per VM',
    tag: 'vms',
    request: { body: BulkActionBodySchema },
    maxBodyBytes: 64 * 1024,
    responses: {
      200: {
        description: 'Every VM answered: done, pending, refused or failed (a refusal never hides the others)',
        schema: BulkActionResponseSchema,
      },
    },
    // a class the caller does not teach: 404 (not theirs) or 403 (a student of it)
    errors: ['forbidden'],
  }),
  getBulkAction: defineRoute({
    id: 'getBulkAction',
    method: 'GET',
    path: '/api/bulk-actions/{bulkId}',
    auth: 'jwt',
    handler: 'functions/api/get-bulk-action.ts',
    placement: 'outside-vpc',
    summary: "A bulk action's lines (its caller or admins), pending ones brought up to date from the table",
    tag: 'vms',
    request: { path: BulkActionPathSchema },
    responses: { 200: { description: 'The bulk action', schema: BulkActionResponseSchema } },
  }),
  listAssignments: defineRoute({
    id: 'listAssignments',
    method: 'GET',
    path: '/api/assignments',
    auth: 'jwt',
    handler: 'functions/api/list-assignments.ts',
    placement: 'outside-vpc',
    summary: 'Admins: list assignments (user ↔ VM)',
    tag: 'ownership',
    request: { query: ListAssignmentsQuerySchema },
    responses: { 200: { description: 'Assignments', schema: ListAssignmentsResponseSchema } },
  }),
  putAssignment: defineRoute({
    id: 'putAssignment',
    method: 'PUT',
    path: '/api/assignments',
    auth: 'jwt',
    handler: 'functions/api/put-assignment.ts',
    placement: 'outside-vpc',
    summary: 'Admins: assign a VM to a user (idempotent)',
    tag: 'ownership',
    request: { body: PutAssignmentBodySchema },
    responses: { 200: { description: 'The assignment', schema: AssignmentResponseItemSchema } },
  }),
  deleteAssignment: defineRoute({
    id: 'deleteAssignment',
    method: 'DELETE',
    path: '/api/assignments',
    auth: 'jwt',
    handler: 'functions/api/delete-assignment.ts',
    placement: 'outside-vpc',
    summary: 'Admins: remove an assignment (given in the query string)',
    tag: 'ownership',
    request: { query: DeleteAssignmentQuerySchema },
    responses: { 204: { description: 'Removed (or was absent)' } },
  }),
  importMappings: defineRoute({
    id: 'importMappings',
    method: 'POST',
    path: '/api/assignments/import',
    auth: 'jwt',
    handler: 'functions/api/import-mappings.ts',
    placement: 'outside-vpc',
    summary: "Admins: import the original portal's mappings.json (all or nothing)",
    tag: 'ownership',
    request: { query: ImportMappingsQuerySchema, body: ImportMappingsBodySchema },
    maxBodyBytes: MAPPINGS_IMPORT_LIMITS.maxBodyBytes,
    responses: {
      200: { description: 'Imported (or would be, with dry_run)', schema: ImportMappingsResponseSchema },
    },
  }),
  listClasses: defineRoute({
    id: 'listClasses',
    method: 'GET',
    path: '/api/classes',
    auth: 'jwt',
    handler: 'functions/api/list-classes.ts',
    placement: 'outside-vpc',
    summary: 'Classes: all for admins, otherwise those the caller teaches or attends',
    tag: 'classes',
    request: {},
    responses: { 200: { description: 'Classes', schema: ListClassesResponseSchema } },
  }),
  createClass: defineRoute({
    id: 'createClass',
    method: 'POST',
    path: '/api/classes',
    auth: 'jwt',
    handler: 'functions/api/create-class.ts',
    placement: 'outside-vpc',
    summary: 'Admins: create a class',
    tag: 'classes',
    request: { body: CreateClassBodySchema },
    responses: { 201: { description: 'Created', schema: ClassResponseSchema } },
  }),
  getClass: defineRoute({
    id: 'getClass',
    method: 'GET',
    path: '/api/classes/{classId}',
    auth: 'jwt',
    handler: 'functions/api/get-class.ts',
    placement: 'outside-vpc',
    summary: 'One class (admins, its teachers and students)',
    tag: 'classes',
    request: { path: ClassPathSchema },
    responses: { 200: { description: 'The class', schema: ClassResponseSchema } },
  }),
  updateClass: defineRoute({
    id: 'updateClass',
    method: 'PUT',
    path: '/api/classes/{classId}',
    auth: 'jwt',
    handler: 'functions/api/update-class.ts',
    placement: 'outside-vpc',
    summary: "Admins and the class's teachers: rename or describe a class",
    tag: 'classes',
    request: { path: ClassPathSchema, body: UpdateClassBodySchema },
    responses: { 200: { description: 'The class', schema: ClassResponseSchema } },
  }),
  deleteClass: defineRoute({
    id: 'deleteClass',
    method: 'DELETE',
    path: '/api/classes/{classId}',
    auth: 'jwt',
    handler: 'functions/api/delete-class.ts',
    placement: 'outside-vpc',
    summary: 'Admins: delete a class with its memberships and class assignments',
    tag: 'classes',
    request: { path: ClassPathSchema },
    responses: { 204: { description: 'Deleted (or was absent)' } },
  }),
  putClassMember: defineRoute({
    id: 'putClassMember',
    method: 'PUT',
    path: '/api/classes/{classId}/members/{username}',
    auth: 'jwt',
    handler: 'functions/api/put-class-member.ts',
    placement: 'outside-vpc',
    summary: "Admins and the class's teachers: add a student or teacher (body {role}, default student)",
    tag: 'classes',
    request: { path: ClassMemberPathSchema, body: PutClassMemberBodySchema },
    responses: { 200: { description: 'The class', schema: ClassResponseSchema } },
  }),
  deleteClassMember: defineRoute({
    id: 'deleteClassMember',
    method: 'DELETE',
    path: '/api/classes/{classId}/members/{username}',
    auth: 'jwt',
    handler: 'functions/api/delete-class-member.ts',
    placement: 'outside-vpc',
    summary: "Admins and the class's teachers: remove a member",
    tag: 'classes',
    request: { path: ClassMemberPathSchema },
    responses: { 204: { description: 'Removed (or was absent)' } },
  }),
  putClassVm: defineRoute({
    id: 'putClassVm',
    method: 'PUT',
    path: '/api/classes/{classId}/vms/{cluster}/{vmid}',
    auth: 'jwt',
    handler: 'functions/api/put-class-vm.ts',
    placement: 'outside-vpc',
    summary: "Admins and the class's teachers: add a VM to the class, optionally assigned to a student",
    tag: 'classes',
    request: { path: ClassVmPathSchema, body: PutClassVmBodySchema },
    responses: { 200: { description: 'The class', schema: ClassResponseSchema } },
  }),
  deleteClassVm: defineRoute({
    id: 'deleteClassVm',
    method: 'DELETE',
    path: '/api/classes/{classId}/vms/{cluster}/{vmid}',
    auth: 'jwt',
    handler: 'functions/api/delete-class-vm.ts',
    placement: 'outside-vpc',
    summary: "Admins and the class's teachers: remove a VM from the class",
    tag: 'classes',
    request: { path: ClassVmPathSchema },
    responses: { 204: { description: 'Removed (or was absent)' } },
  }),
  getClassSchedule: defineRoute({
    id: 'getClassSchedule',
    method: 'GET',
    path: '/api/classes/{classId}/schedule',
    auth: 'jwt',
    handler: 'functions/api/get-class-schedule.ts',
    placement: 'outside-vpc',
    summary: "Admins and the class's teachers: the class's schedule (null when none)",
    tag: 'classes',
    request: { path: ClassPathSchema },
    responses: { 200: { description: 'The schedule', schema: ClassScheduleResponseSchema } },
  }),
  putClassSchedule: defineRoute({
    id: 'putClassSchedule',
    method: 'PUT',
    path: '/api/classes/{classId}/schedule',
    auth: 'jwt',
    handler: 'functions/api/put-class-schedule.ts',
    placement: 'outside-vpc',
    summary:
      "Admins and the class's teachers: set the class's schedule (start/shutdown cron in a time zone, " +
      'max uptime, idle rule); evaluated every 5 minutes with the schedule as actor',
    tag: 'classes',
    request: { path: ClassPathSchema, body: PutClassScheduleBodySchema },
    responses: { 200: { description: 'The schedule', schema: ClassScheduleResponseSchema } },
  }),
  deleteClassSchedule: defineRoute({
    id: 'deleteClassSchedule',
    method: 'DELETE',
    path: '/api/classes/{classId}/schedule',
    auth: 'jwt',
    handler: 'functions/api/delete-class-schedule.ts',
    placement: 'outside-vpc',
    summary: "Admins and the class's teachers: remove the class's schedule",
    tag: 'classes',
    request: { path: ClassPathSchema },
    responses: { 204: { description: 'Removed (or was absent)' } },
  }),
  keepVmRunning: defineRoute({
    id: 'keepVmRunning',
    method: 'POST',
    path: '/api/vms/{cluster}/{vmid}/keep-running',
    auth: 'jwt',
    handler: 'functions/api/keep-vm-running.ts',
    placement: 'outside-vpc',
    summary:
      "Whoever sees the VM: keep it running — restarts the idle rule's clock and removes its announced " +
      'shutdown (`idle_shutdown_at`)',
    tag: 'vms',
    request: { path: KeepRunningPathSchema },
    responses: { 200: { description: 'The idle clock restarted', schema: KeepRunningResponseSchema } },
  }),
  listAudit: defineRoute({
    id: 'listAudit',
    method: 'GET',
    path: '/api/audit',
    auth: 'jwt',
    handler: 'functions/api/list-audit.ts',
    placement: 'outside-vpc',
    summary:
      'Admins: the audit trail of state-changing requests, newest first (filters: user, VM, class, time range; paged)',
    tag: 'audit',
    request: { query: ListAuditQuerySchema },
    responses: { 200: { description: 'Audit entries', schema: ListAuditResponseSchema } },
  }),
  getOpenApi: defineRoute({
    id: 'getOpenApi',
    method: 'GET',
    path: '/api/openapi.json',
    auth: 'public',
    handler: 'functions/api/openapi.ts',
    placement: 'outside-vpc',
    summary: 'This OpenAPI 3.1 document',
    tag: 'meta',
    request: {},
    responses: { 200: { description: 'OpenAPI document', schema: OpenApiDocumentSchema } },
  }),
} as const;

/** The route ids. */
export type RouteId = keyof typeof routes;

/** Every route, in table order. */
export const routeList: readonly RouteDefinition[] = Object.values(routes);

/**
 * The API's catch-all (API Gateway's `$default` route): a request no route of the table matches
 * is answered by this function with the documented 404 (`not_found`, the API's error shape) —
 * deployed and on the local gateway alike. Kept out of `routes`: it has no method, path, input,
 * authorizer or table access, so the suites that iterate the table do not meet it there; each
 * tests it on its own.
 */
export const notFoundRoute = {
  id: 'notFound',
  routeKey: '$default',
  handler: 'functions/api/not-found.ts',
  summary: 'Any request no route matches: 404 not_found in the API error shape',
} as const;

/** CORS settings shared by the CDK HTTP API and the local gateway (origins come from configuration). */
export const API_CORS = {
  allowMethods: ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS'],
  allowHeaders: ['authorization', 'content-type', 'if-none-match'],
  exposeHeaders: ['etag'],
  maxAgeSeconds: 600,
} as const;
