/** Command-line flags of `npm run bench`. */
export interface BenchArgs {
  /** Machine-readable JSON only on stdout. */
  json: boolean;
  /** Under 2 minutes: 1,000 guests, concurrency 1, fewer samples. */
  quick: boolean;
  /** Measurements to run (all when empty). */
  only: string[];
  /** Also write report.md and report.json into this directory. */
  save: string | null;
}

/** Thrown for an unknown flag; the message lists the known ones. */
export class BenchArgsError extends Error {
  override readonly name = 'BenchArgsError';
}

/** The measurement ids `--only` accepts. */
export const MEASUREMENT_IDS = [
  'latency',
  'proxmox',
  'dynamodb',
  'sync',
  'lambda',
  'cost',
  'limits',
  'portal',
  'import',
  'live',
  'bulk',
] as const;

/** Parses `--json`, `--quick`, `--save=DIR` and `--only=a,b` (ids of {@link MEASUREMENT_IDS}). */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { json: false, quick: false, only: [], save: null };
  for (const arg of argv) {
    if (arg === '--json') args.json = true;
    else if (arg === '--quick') args.quick = true;
    else if (arg.startsWith('--only=')) {
      const ids = arg
        .slice('--only='.length)
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      for (const id of ids) {
        if (!(MEASUREMENT_IDS as readonly string[]).includes(id)) {
          throw new BenchArgsError(`unknown measurement '${id}' (known: ${MEASUREMENT_IDS.join(', ')})`);
        }
      }
      args.only = ids;
    } else if (arg.startsWith('--save=') && arg.length > '--save='.length) {
      args.save = arg.slice('--save='.length);
    } else if (arg === '--') {
      // npm passes the separator through on some versions
    } else {
      throw new BenchArgsError(
        `unknown flag '${arg}' (known: --json, --quick, --save=DIR, --only=${MEASUREMENT_IDS.join(',')})`,
      );
    }
  }
  return args;
}
