/**
 * Bounding a piece of work by a deadline. An action must answer before the HTTP API's 30 s
 * integration timeout whatever Proxmox does, so every call it makes is raced against the time
 * left; the call itself is not cancelled (its late answer is ignored, and the client's own
 * timeouts end it), but the action moves on.
 */

/** The work did not settle before its deadline. */
export class DeadlineReachedError extends Error {
  override readonly name = 'DeadlineReachedError';
  constructor(
    readonly what: string,
    readonly budgetMs: number,
  ) {
    super(`${what}: no answer within ${budgetMs} ms`);
  }
}

/** Starts a timer and returns its cancel function (injected so that tests control time). */
export type StartTimer = (ms: number, onExpiry: () => void) => () => void;

/** The platform's timer (unref'd: a pending bound never keeps a process alive). */
export const realTimer: StartTimer = (ms, onExpiry) => {
  const timer = setTimeout(onExpiry, ms);
  timer.unref?.();
  return () => clearTimeout(timer);
};

/**
 * Settles like `work` when it settles before `deadline` (epoch ms), else rejects with
 * {@link DeadlineReachedError}. A deadline already passed rejects without waiting for `work`
 * (whose later rejection is swallowed, so it never surfaces as unhandled).
 */
export function withinDeadline<T>(
  work: Promise<T>,
  deadline: number,
  what: string,
  clock: { now: () => number; startTimer: StartTimer },
): Promise<T> {
  const budgetMs = Math.max(0, deadline - clock.now());
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const cancel = clock.startTimer(budgetMs, () => {
      if (settled) return;
      settled = true;
      reject(new DeadlineReachedError(what, budgetMs));
    });
    work.then(
      (value) => {
        if (settled) return;
        settled = true;
        cancel();
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        cancel();
        reject(error);
      },
    );
  });
}
