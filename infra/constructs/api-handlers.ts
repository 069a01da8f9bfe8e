import { Duration } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { notFoundRoute, type RouteDefinition, type RouteId, routes } from '#shared/http/routes.ts';
import {
  AUDIT_BY_ACTOR_INDEX,
  AUDIT_BY_CLASS_INDEX,
  AUDIT_BY_VM_INDEX,
  AUDIT_TABLE,
  OWNERSHIP_BY_MEMBER_INDEX as BY_MEMBER,
  OWNERSHIP_BY_VM_INDEX as BY_VM,
  INVENTORY_TABLE,
  OWNERSHIP_TABLE,
  SYNC_STATE_TABLE,
  type TableDesign,
} from '#shared/store/table-design.ts';
import { PveFunction, type TableGrant } from './pve-function.ts';

/** Service name (`service` metric dimension) of every API handler. */
export const API_SERVICE_NAME = 'pve-inventory-api';

/** Environment variables the ApiStack hands to the handlers that refresh, trigger syncs or act on VMs. */
export const API_HOOK_ENV = {
  /** list-vms' refresh: the sync-one-cluster function it may invoke */
  syncClusterFunction: 'SYNC_CLUSTER_FUNCTION_NAME',
  /** sync-trigger: the state machines it may start */
  fullSyncStateMachine: 'FULL_SYNC_STATE_MACHINE_ARN',
  quickSyncStateMachine: 'QUICK_SYNC_STATE_MACHINE_ARN',
} as const;

/**
 * The read cache's versions (README "Read cache"): an action's pending state moves its cluster's
 * `inventory_version`, an ownership write the ownership version (one UpdateItem each, after the write).
 */
const VERSION_BUMP: TableGrant = { actions: ['UpdateItem'] };

/** Recording in the audit trail: new items only, no reads, updates or deletes. */
const APPEND: TableGrant = { actions: ['PutItem'] };

/**
 * Which DynamoDB actions each route's handler calls, per table: exactly those, nothing else (a
 * table left out is not granted at all). Read from the handlers and the repository methods they
 * use; test/integration/infra/dynamodb-grants.test.ts runs every route against DynamoDB Local and
 * fails when a handler calls an action not listed here. Only the admin's unfiltered assignment
 * listing scans (the whole ownership table, filtered to assignments). Every state-changing route
 * (POST, PUT, DELETE) appends to the audit trail (PutItem only); only the audit route reads it.
 */
export const ROUTE_TABLE_ACCESS: Readonly<
  Record<
    RouteId,
    Readonly<{ inventory?: TableGrant; syncState?: TableGrant; ownership?: TableGrant; audit?: TableGrant }>
  >
> = {
  // the refresh's rate-limit and coalescing records (force_refresh/live) live in the sync state
  listVms: {
    inventory: { actions: ['BatchGetItem', 'Query'] },
    syncState: { actions: ['BatchGetItem', 'GetItem', 'PutItem', 'Query', 'UpdateItem'] },
    ownership: { actions: ['GetItem', 'Query'], queriedIndexes: [BY_MEMBER] },
  },
  getVm: {
    inventory: { actions: ['GetItem'] },
    syncState: { actions: ['BatchGetItem', 'GetItem'] },
    ownership: { actions: [], queriedIndexes: [BY_MEMBER, BY_VM] },
  },
  // visibility as getVm, then one Query of the cluster's history buckets and the cluster's state
  getVmHistory: {
    inventory: { actions: ['GetItem'] },
    syncState: { actions: ['GetItem', 'Query'] },
    ownership: { actions: [], queriedIndexes: [BY_MEMBER, BY_VM] },
  },
  // the original portal's routes resolve the VM exactly as actions do (the caller's VMs, the clusters)
  getVmStatus: {
    inventory: { actions: ['BatchGetItem'] },
    syncState: { actions: ['BatchGetItem', 'Query'] },
    ownership: { actions: ['Query'], queriedIndexes: [BY_MEMBER] },
  },
  getVmIp: {
    inventory: { actions: ['BatchGetItem'] },
    syncState: { actions: ['BatchGetItem', 'Query'] },
    ownership: { actions: ['Query'], queriedIndexes: [BY_MEMBER] },
  },
  getSyncStats: {
    inventory: { actions: ['BatchGetItem'] },
    syncState: { actions: ['Query'] },
    ownership: { actions: ['GetItem', 'Query'], queriedIndexes: [BY_MEMBER] },
  },
  getSyncHealth: { syncState: { actions: ['Query'] } },
  // the trigger coalesces through its records in the sync state (a refused start releases its claim)
  // and reads the clusters' states to say per cluster what happens (backoff, a run holding the lease)
  triggerSync: {
    syncState: { actions: ['DeleteItem', 'GetItem', 'PutItem', 'Query', 'UpdateItem'] },
    audit: APPEND,
  },
  // the action finds the target among the caller's VMs and records the pending state
  vmAction: {
    inventory: { actions: ['BatchGetItem', 'UpdateItem'] },
    ownership: { actions: ['GetItem', 'Query'], queriedIndexes: [BY_MEMBER] },
    audit: APPEND,
    syncState: VERSION_BUMP,
  },
  // each VM goes through the action (visibility, pending state); the job is kept for its status route
  // (the pending-state writes bump the cluster's read-cache version: UpdateItem)
  bulkAction: {
    inventory: { actions: ['BatchGetItem', 'UpdateItem'] },
    syncState: { actions: ['PutItem', 'UpdateItem'] },
    ownership: { actions: ['GetItem', 'Query'], queriedIndexes: [BY_MEMBER] },
    audit: APPEND,
  },
  getBulkAction: {
    inventory: { actions: ['BatchGetItem'] },
    syncState: { actions: ['GetItem'] },
  },
  listAssignments: { ownership: { actions: ['Query', 'Scan'], queriedIndexes: [BY_VM] } },
  putAssignment: {
    inventory: { actions: ['GetItem'] },
    ownership: { actions: ['PutItem'], queriedIndexes: [BY_VM] },
    audit: APPEND,
    syncState: VERSION_BUMP,
  },
  deleteAssignment: { ownership: { actions: ['DeleteItem'] }, audit: APPEND, syncState: VERSION_BUMP },
  // the import reads the users' assignments in batches (BatchGetItem) before writing them
  importMappings: {
    inventory: { actions: ['BatchGetItem'] },
    syncState: { actions: ['Query', 'UpdateItem'] },
    ownership: { actions: ['BatchGetItem', 'BatchWriteItem'] },
    audit: APPEND,
  },
  listClasses: { ownership: { actions: ['GetItem', 'Query'], queriedIndexes: [BY_MEMBER] } },
  createClass: {
    ownership: { actions: ['GetItem', 'PutItem', 'Query'] },
    audit: APPEND,
    syncState: VERSION_BUMP,
  },
  getClass: { ownership: { actions: ['GetItem', 'Query'] } },
  updateClass: {
    ownership: { actions: ['GetItem', 'PutItem', 'Query'] },
    audit: APPEND,
    syncState: VERSION_BUMP,
  },
  deleteClass: {
    ownership: { actions: ['BatchWriteItem', 'GetItem', 'Query'] },
    audit: APPEND,
    syncState: VERSION_BUMP,
  },
  putClassMember: {
    ownership: { actions: ['GetItem', 'PutItem', 'Query'] },
    audit: APPEND,
    syncState: VERSION_BUMP,
  },
  deleteClassMember: {
    ownership: { actions: ['DeleteItem', 'GetItem', 'Query'] },
    audit: APPEND,
    syncState: VERSION_BUMP,
  },
  // linking writes the link and the student's assignment in one transaction (Put + Delete)
  putClassVm: {
    inventory: { actions: ['GetItem'] },
    ownership: { actions: ['DeleteItem', 'GetItem', 'PutItem', 'Query'], queriedIndexes: [BY_MEMBER, BY_VM] },
    audit: APPEND,
    syncState: VERSION_BUMP,
  },
  // schedules: the class decides who may (its record and members), the schedule is one item
  getClassSchedule: { ownership: { actions: ['GetItem', 'Query'] } },
  putClassSchedule: { ownership: { actions: ['GetItem', 'Query', 'UpdateItem'] }, audit: APPEND },
  deleteClassSchedule: { ownership: { actions: ['DeleteItem', 'GetItem', 'Query'] }, audit: APPEND },
  // keep running: the VM must be the caller's (as for reading it), then one update of its item
  keepVmRunning: {
    inventory: { actions: ['UpdateItem'] },
    ownership: { actions: [], queriedIndexes: [BY_MEMBER, BY_VM] },
    audit: APPEND,
    syncState: VERSION_BUMP,
  },
  listAudit: {
    audit: {
      actions: ['Query'],
      queriedIndexes: [AUDIT_BY_ACTOR_INDEX, AUDIT_BY_VM_INDEX, AUDIT_BY_CLASS_INDEX],
    },
  },
  deleteClassVm: {
    ownership: { actions: ['DeleteItem', 'GetItem', 'Query'] },
    audit: APPEND,
    syncState: VERSION_BUMP,
  },
  getOpenApi: {},
};

/** The network of handlers placed `vpc` (the sync stack's, where Proxmox is reachable). */
export interface ApiHandlerNetwork {
  readonly vpc: IVpc;
  readonly subnets?: SubnetSelection;
  readonly securityGroup: ISecurityGroup;
}

/** Properties of {@link ApiHandlers}. */
export interface ApiHandlersProps {
  readonly inventoryTable: ITableV2;
  readonly syncStateTable: ITableV2;
  readonly ownershipTable: ITableV2;
  readonly auditTable: ITableV2;
  /** Environment shared by every handler (identity claims, settings). */
  readonly environment: Readonly<Record<string, string>>;
  /** Hook: the network of the `vpc` routes (the action handler). @default - placed outside any VPC */
  readonly network?: ApiHandlerNetwork;
  /** Hook: the sync function list-vms may invoke for a refresh (its only extra grant). */
  readonly syncClusterFunction?: IFunction;
  /** Hook: the state machines the trigger may start (StartExecution on these only). */
  readonly syncStateMachines?: { readonly full: IStateMachine; readonly quick: IStateMachine };
  /** Extra environment per route (e.g. the action handler's clusters configuration). */
  readonly routeEnvironment?: Partial<Record<RouteId, Readonly<Record<string, string>>>>;
}

/**
 * One function per route of the route table, each with read or read-write grants on exactly the
 * tables it uses. Handlers run outside the VPC except routes placed `vpc`.
 */
export class ApiHandlers extends Construct {
  /** The function of each route, by route id (for extra grants by other constructs). */
  public readonly functions: Readonly<Record<RouteId, PveFunction>>;
  /** The catch-all function (`$default`): the documented 404 for unknown routes; no table access. */
  public readonly notFoundFunction: PveFunction;

  constructor(scope: Construct, id: string, props: ApiHandlersProps) {
    super(scope, id);
    const tables: Record<'inventory' | 'syncState' | 'ownership' | 'audit', [ITableV2, TableDesign]> = {
      inventory: [props.inventoryTable, INVENTORY_TABLE],
      syncState: [props.syncStateTable, SYNC_STATE_TABLE],
      ownership: [props.ownershipTable, OWNERSHIP_TABLE],
      audit: [props.auditTable, AUDIT_TABLE],
    };
    const functions: Partial<Record<RouteId, PveFunction>> = {};
    for (const [routeId, route] of Object.entries(routes) as [RouteId, RouteDefinition][]) {
      const inVpc = route.placement === 'vpc' && props.network !== undefined;
      const fn = new PveFunction(this, constructIdOf(routeId), {
        entry: route.handler,
        serviceName: API_SERVICE_NAME,
        description: `API ${route.method} ${route.path}: ${route.summary}`.slice(0, 256),
        memorySize: routeId === 'listVms' ? 1024 : 512,
        // HTTP API integrations end at 30 s: the handler must answer before.
        timeout: Duration.seconds(29),
        environment: { ...props.environment, ...props.routeEnvironment?.[routeId] },
        ...(inVpc && props.network
          ? {
              vpc: props.network.vpc,
              vpcSubnets: props.network.subnets,
              securityGroups: [props.network.securityGroup],
            }
          : {}),
      });
      for (const [name, access] of Object.entries(ROUTE_TABLE_ACCESS[routeId]) as [
        keyof typeof tables,
        TableGrant,
      ][]) {
        const [table, design] = tables[name];
        fn.bindTable(table, access, design);
      }
      functions[routeId] = fn;
    }
    this.functions = functions as Record<RouteId, PveFunction>;
    this.notFoundFunction = new PveFunction(this, constructIdOf(notFoundRoute.id), {
      entry: notFoundRoute.handler,
      serviceName: API_SERVICE_NAME,
      description: `API ${notFoundRoute.routeKey}: ${notFoundRoute.summary}`,
      memorySize: 256,
      timeout: Duration.seconds(5),
      environment: { ...props.environment },
    });

    if (props.syncClusterFunction) {
      const listVms = this.functions.listVms;
      listVms.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: [props.syncClusterFunction.functionArn],
        }),
      );
      listVms.function.addEnvironment(
        API_HOOK_ENV.syncClusterFunction,
        props.syncClusterFunction.functionName,
      );
    }
    if (props.syncStateMachines) {
      const trigger = this.functions.triggerSync;
      const machines = [props.syncStateMachines.full, props.syncStateMachines.quick];
      trigger.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['states:StartExecution'],
          resources: machines.map((machine) => machine.stateMachineArn),
        }),
      );
      trigger.function.addEnvironment(
        API_HOOK_ENV.fullSyncStateMachine,
        props.syncStateMachines.full.stateMachineArn,
      );
      trigger.function.addEnvironment(
        API_HOOK_ENV.quickSyncStateMachine,
        props.syncStateMachines.quick.stateMachineArn,
      );
    }
  }
}

/** `listVms` → `ListVms`: the construct id of a route's function. */
export function constructIdOf(routeId: string): string {
  return `${routeId.charAt(0).toUpperCase()}${routeId.slice(1)}`;
}
