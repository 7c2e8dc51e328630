/**
 * When a float32 EM run asks its float64 reference whether EM would stop (the EM loop's probes).
 *
 * Where the tolerance is finer than even float64 resolves (large data), a float32 run cannot see
 * EM converge: float32 would go on to maxIterations, while the float64 backend stops as soon as its
 * change is within reach — at once on well-separated clusters, whose responsibilities are exactly
 * 0 or 1. Once float32's changes have stayed within their own rounding bound PROBE_AFTER times in
 * a row (long enough to have shown a fixed point or a 2-cycle, which end the trial for free), a
 * probe runs EM on the float64 reference: three passes where EM was about to stop, at least four
 * where it is not, more while float64's change is within PROBE_REACH of the tolerance, at most
 * PROBE_MAX_ITERATIONS + 1. When it does not converge,
 * float32 takes over again, and the next probe comes halfway to the iteration at which float64's
 * last two changes, extrapolated at their rate, would be within reach (EM converges linearly:
 * windvectors, 4800 × 5, K = 3, by 0.64 per iteration on average over the 45 iterations after
 * float32 stops resolving the change; halfway, because the rate drifts — zipcodes, K = 6: 0.82
 * where float32 stops resolving it, 0.69 on average over the 58 iterations to the CPU's stop), or
 * after a wait doubled each time where they change sign or do not shrink (float64's noise).
 * Except where float32 has settled at a fixed point of its own rounding, off float64's: each probe
 * then starts from there again and repeats the last one until the probes' budget is spent (the
 * digits, K = 2, diagonal, on lavapipe: probes at iterations 67, 83, 98, … each judging a change
 * of 5.7–9.1e-6 first, the run at 250, not converged, where the CPU backend converged after 86).
 * A probe that finds the float32 iterations since the last one did less than one float64
 * iteration would have (lostGround) is the trial's float64 finish: it goes on while the probes'
 * cost beyond the float32 iterations they stand in for stays within maxIterations (finishFits: a
 * run to maxIterations at most doubles, whether the finish converges, reaches the cap or hands
 * back to float32), unless float64's change stops halving over eight iterations (stalled: its
 * noise, a cycle, or a rate above 0.917). zipcodes (42 049 × 3, K = 2, diagonal, 'mlpack') then
 * converges after 73 iterations, with the CPU's log-likelihood to 2e-15, where it ran 250; the
 * digits (K = 2, diagonal) finish one iteration short of the stop, their budget spent by three
 * earlier probes.
 * A probe is spent only where its longest run costs no more than the float32 iterations still
 * allowed, which it may save, and all the probes' float64 iterations together no more than
 * maxIterations float32 ones (a finish: beyond the float32 iterations they stand in for) — at
 * most doubling a run that reaches maxIterations (a float64 iteration costs float64IterationCost
 * float32 ones: on lavapipe a 20-iteration run of 3M × 3, K = 8 spent 10 s in a probe against
 * 0.8 s for its float32 passes). Probes already spent do not
 * count in the first condition: flights (20 000 × 3, diagonal, K = 3) converged on WebGPU (202
 * iterations; the CPU 188) only once probes at iterations 180 and 196 no longer had to fit beside
 * the earlier ones in the iterations left.
 */

/** A probe continues while float64's change is within this factor of the tolerance, for at most PROBE_MAX_ITERATIONS iterations. */
const PROBE_REACH = 1e4;
const PROBE_MAX_ITERATIONS = 8;
/** Float32 changes in a row within their own rounding bound before a probe. */
const PROBE_AFTER = 8;

export class Float64Probes {
  /** Float32 changes in a row that float32 cannot tell from its rounding. */
  private run = 0;
  /** The last iteration where `nextAt` held back a probe the run called for (see cycleFinal). */
  private heldBackAt = -1;
  /** The iteration before which no further probe starts. */
  private nextAt = 0;
  /** The wait after a probe that found no convergence to foresee. */
  private backoff = PROBE_AFTER;
  /** Float64 iterations spent on probes, in float32 ones. */
  private work = 0;
  /**
   * What the probes cost beyond the float32 iterations they stood in for, in float32 ones: a
   * probe's first float64 pass (θ_t again, after its float32 pass) costs float64Cost, each later
   * one float64Cost − 1. A run of maxIterations costs at most maxIterations float32 iterations plus
   * this, however its float64 stretches end.
   */
  private excess = 0;
  /** The current probe's iterations, and its judged changes in log L. */
  private length = 0;
  private readonly changes: number[] = [];
  /** The previous probe's first and last judged changes, and the rate of its last two (null: they did not shrink with one sign). */
  private previous: { first: number; last: number; rate: number | null } | null = null;
  /** Whether the current probe has become the trial's float64 finish (see next). */
  private finishing = false;

  /**
   * @param float64Cost what one float64 iteration costs in float32 ones (float64IterationCost)
   * @param maxIterations the run's cap (0: none)
   */
  constructor(
    private readonly float64Cost: number,
    private readonly maxIterations: number,
  ) {}

  /** Counts this iteration's change: within float32's rounding bound, or not (or not float32's). */
  observe(withinRounding: boolean, iteration: number): void {
    this.run = withinRounding ? this.run + 1 : 0;
    if (this.run >= PROBE_AFTER && iteration < this.nextAt && this.fits(this.nextAt)) this.heldBackAt = iteration;
  }

  /** The run as the state of an exact cycle (capped where it starts a probe). */
  get cycleRun(): number {
    return Math.min(this.run, PROBE_AFTER);
  }

  /**
   * Whether a cycle of `period` seen at `iteration` has no probe to come. A cycle seen through a
   * whole period without a probe has none — the iterations left, which make one affordable, only
   * decrease — unless the iteration count held back a probe the run had called for (before
   * `nextAt`, where one is still affordable then) at or after the iteration one period back,
   * whose state is this one's: the same state may start it now or later.
   */
  cycleFinal(iteration: number, period: number): boolean {
    return this.heldBackAt < iteration - period;
  }

  /** Whether a probe starts at `iteration` (the run is long enough, its time has come, and it fits). */
  due(iteration: number): boolean {
    return this.run >= PROBE_AFTER && iteration >= this.nextAt && this.fits(iteration);
  }

  /** A probe starts: its first float64 iteration (pass and M-step). */
  start(): void {
    this.length = 0;
    this.changes.length = 0;
    this.finishing = false;
    this.work += this.float64Cost;
    this.excess += this.float64Cost;
  }

  /**
   * One more float64 iteration of the probe, whose pass changed log L by `change`; whether the
   * probe goes on. Its first change is not judged: it compares θ built from float32 statistics
   * with θ built from float64 ones, float32's rounding rather than EM's progress (digits, K = 1:
   * 4.4e-5, then 0). It goes on for two judged changes, then while they are within PROBE_REACH ×
   * `tolerance` (an exact fixed point is then a few iterations away); when it ends, the next
   * probe's time is set from them. A probe that finds float32 has lost the previous one's ground
   * (lostGround) is the trial's finish instead: it goes on while finishFits.
   */
  next(change: number, iteration: number, tolerance: number, reach: number): boolean {
    this.length++;
    this.work += this.float64Cost;
    this.excess += this.float64Cost - 1;
    if (this.length > 1) this.changes.push(change);
    if (this.changes.length === 2) this.finishing = this.lostGround();
    const goOn = this.finishing
      ? this.finishFits() && !this.stalled()
      : this.length < PROBE_MAX_ITERATIONS && (this.changes.length < 2 || Math.abs(this.changes[this.changes.length - 1]!) <= PROBE_REACH * tolerance);
    if (!goOn) {
      const foreseen = iterationsToReach(this.changes, reach);
      if (foreseen !== null) this.nextAt = iteration + Math.ceil(foreseen / 2);
      else {
        this.nextAt = iteration + this.backoff;
        this.backoff *= 2;
      }
      const [before, last] = this.changes.slice(-2) as [number, number];
      this.previous = { first: Math.abs(this.changes[0]!), last: Math.abs(last), rate: foreseen !== null ? last / before : null };
    }
    return goOn;
  }

  /**
   * Whether the float32 iterations since the previous probe did less than one float64 iteration
   * would have: this probe's first judged change is at least half the previous probe's first one
   * (float32 hardly moved θ toward float64's fixed point; the only test where the previous changes
   * did not shrink with one sign), or at least the previous probe's last one times its rate.
   * Float32 has then settled at a fixed point of its own rounding, and every later probe would
   * start from there again.
   */
  private lostGround(): boolean {
    const previous = this.previous;
    if (previous === null) return false;
    const first = Math.abs(this.changes[0]!);
    return first >= previous.first / 2 || (previous.rate !== null && first >= previous.last * previous.rate);
  }

  /**
   * Whether float64's change is more than half the largest of the PROBE_MAX_ITERATIONS before it:
   * at its own noise, or in a cycle of its arithmetic, a finish would spend its whole budget (so
   * would one converging slower than 2^(−1/8) ≈ 0.917 per iteration, which it may not afford). (The
   * largest, not the oldest: from float32's point the first changes may cross zero — zipcodes,
   * K = 2, diagonal, 'mlpack': 4.8e-6, −7.2e-5, −8.0e-5, −6.6e-5, … — before they shrink.)
   */
  private stalled(): boolean {
    const n = this.changes.length;
    if (n <= PROBE_MAX_ITERATIONS) return false;
    const largest = Math.max(...this.changes.slice(n - 1 - PROBE_MAX_ITERATIONS, n - 1).map(Math.abs));
    return Math.abs(this.changes[n - 1]!) > largest / 2;
  }

  /**
   * Whether the finish may spend one more float64 iteration: the probes' cost beyond the float32
   * iterations they stand in for (`excess`) stays within maxIterations, so that a run that reaches
   * maxIterations — in float64, or handed back to float32 — costs at most twice its float32
   * iterations, the bound the probes keep.
   */
  private finishFits(): boolean {
    return this.maxIterations === 0 || this.excess + this.float64Cost - 1 <= this.maxIterations;
  }

  /**
   * Whether a probe at `at` is worth its cost: its longest run costs no more than the float32
   * iterations left, which it may save, and all the probes' float64 work no more than the run's
   * cap (so that a run that reaches it at most doubles).
   */
  private fits(at: number): boolean {
    if (this.maxIterations === 0) return true;
    const longest = (PROBE_MAX_ITERATIONS + 1) * this.float64Cost;
    return longest <= this.maxIterations - at && this.work + longest <= this.maxIterations;
  }
}

/**
 * M-steps until EM's change in log L is within `reach`, extrapolating the last two changes at
 * their rate (EM converges linearly); null unless they have one sign and shrink. (Not only
 * increases: a clamp that is not an exact M-step can lower log L all the way to its fixed point —
 * mlpack's on zipcodes, K = 4: −6.9e3 at the first iteration, −1.4e-9 at the 140th.)
 */
function iterationsToReach(changes: readonly number[], reach: number): number | null {
  const [before, last] = changes.slice(-2);
  if (before === undefined || last === undefined || !(before * last > 0 && Math.abs(last) < Math.abs(before))) return null;
  return Math.max(1, Math.ceil(Math.log(reach / Math.abs(last)) / Math.log(last / before)));
}
