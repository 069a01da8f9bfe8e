/** Local Step Functions: render synthesized definitions, validate them and run them with local tasks. */
export {
  renderDefinition,
  StateMachineNotFoundError,
  UnsupportedIntrinsicError,
} from './render-definition.ts';
export {
  bindSyncTaskHandlers,
  type JsonValue,
  MissingTaskHandlerError,
  NotJsonError,
  type RunStateMachineOptions,
  runStateMachine,
  type TaskHandler,
  taskStateNames,
  toJsonValue,
} from './run-state-machine.ts';
export {
  type SyncDefinitions,
  type SynthesizeSyncOptions,
  synthesizeSyncDefinitions,
} from './synthesize-sync.ts';
export {
  assertValidDefinition,
  type DefinitionValidation,
  InvalidDefinitionError,
  isValidDefinition,
  validateDefinition,
} from './validate-definition.ts';
