/**
 * Brent's cycle detection over the states of a deterministic iteration (k-means' centroids, EM's
 * parameters). Floating-point arithmetic can settle into an exact cycle that a convergence test
 * never ends — k-means with more clusters than distinct points hands a point to an empty cluster
 * and takes it back, with period 2, 4 or 6 — and once a state repeats, every later state is known.
 * One saved state and one comparison per iteration: the period λ is found within about μ + 2λ
 * iterations (μ: the iterations before the cycle).
 */
export class CycleDetector<S, Saved = S> {
  private saved: Saved | null = null;
  private power = 1;
  private steps = 0;

  /**
   * @param copy copies a state into `into` (a previous copy, reusable) or a new object, and returns it
   * @param equal whether a state is the same as a saved copy, bit for bit
   */
  constructor(
    private readonly copy: (state: S, into: Saved | null) => Saved,
    private readonly equal: (a: S, saved: Saved) => boolean,
  ) {}

  /** Call with the starting state, then with the state after every iteration: the cycle's period once a state repeats, else 0. */
  observe(state: S): number {
    if (this.saved !== null) {
      this.steps++;
      if (this.equal(state, this.saved)) return this.steps;
      if (this.steps !== this.power) return 0;
      this.power *= 2;
    }
    this.saved = this.copy(state, this.saved);
    this.steps = 0;
    return 0;
  }
}

/**
 * Where a run that has entered a cycle of `period` at `iteration` can stop and leave exactly the
 * state it would have after `maxIterations` (0: none; it stops at once): the iteration whose state
 * is the same phase of the cycle.
 */
export function cycleStop(iteration: number, period: number, maxIterations: number): number {
  return maxIterations === 0 ? iteration : iteration + ((maxIterations - iteration) % period);
}

/** Whether two arrays hold the same values bit for bit (NaN equals NaN, −0 differs from +0). */
export function sameValues(x: ArrayLike<number>, y: ArrayLike<number>): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
  return true;
}
