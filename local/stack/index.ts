/** The local stack: everything `npm start` runs, programmatically (also used by the e2e test). */

export { DataDirLockedError, LOCK_FILE_NAME } from './data-dir-lock.ts';
export { formatDuration, InvalidDurationError, parseDuration } from './durations.ts';
export type { LocalPortBindings } from './local-ports.ts';
export { DEFAULT_DATA_DIR, dataPaths, PORTAL_DIST_DIR, PROJECT_ROOT } from './paths.ts';
export { readStackState, type StackState } from './stack-state.ts';
export {
  handlerEnvironment,
  type LocalStack,
  LocalStackAlreadyRunningError,
  type LocalStackOptions,
  startLocalStack,
} from './start-local-stack.ts';
export { formatStatusLine } from './status-line.ts';
export { type LocalExecution, type LocalRunnerStatus, LocalSyncRunner } from './sync-runner.ts';
