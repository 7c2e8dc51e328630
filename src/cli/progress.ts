/**
 * Progress on stderr for long phases. On a terminal: one live bar (loading by bytes, then EM:
 * trial, iteration, log-likelihood, Δ, elapsed). With --verbose: one line per EM iteration
 * instead. Otherwise (a pipe, a log file): nothing until the summary. stdout is never touched.
 */
import cliProgress from 'cli-progress';
import type { IterationInfo } from '../train/em.js';
import type { SearchInfo } from '../train/train.js';

export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private readonly live: boolean;
  private readonly started = performance.now();
  private phaseStart = performance.now();

  constructor(
    private readonly verbose: boolean,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.live = !verbose && stream.isTTY === true;
  }

  /** Reading an input file of `total` bytes. */
  loading(label: string, bytes: number, total: number): void {
    if (!this.live) return;
    if (!this.bar) {
      this.start(`${label} |{bar}| {percentage}% {value}/{total} MB`, Math.max(1, Math.round(total / 1e6)));
    }
    this.bar!.update(Math.round(bytes / 1e6));
  }

  /** A phase without a measurable fraction (k-means, uploading). */
  phase(text: string): void {
    this.stop();
    this.phaseStart = performance.now();
    if (this.live) this.stream.write(`${text}…\r`);
    else if (this.verbose) this.stream.write(`${text}\n`);
  }

  /** A Lloyd iteration of a trial's k-means. */
  kmeans(trial: number, trials: number, iteration: number, shift: number, maxIterations: number): void {
    if (this.verbose) {
      this.stream.write(`trial ${trial + 1}/${trials} k-means iteration ${iteration} shift ${shift.toExponential(2)}\n`);
      return;
    }
    if (!this.live) return;
    if (!this.bar || iteration === 1) {
      this.phaseStart = performance.now();
      this.start(`k-means trial {trial} |{bar}| iteration {value}/{total} shift {delta} {time} s`, maxIterations > 0 ? maxIterations : 1000);
    }
    const elapsed = (performance.now() - this.phaseStart) / 1000;
    this.bar!.update(iteration, { trial: `${trial + 1}/${trials}`, delta: shift.toExponential(2), time: elapsed.toFixed(1) });
  }

  /** A silent step of the default policy's wider search (no iterations are reported during it). */
  search(info: SearchInfo, trials: number): void {
    // Short enough for an 80-column terminal, whose wrapped line the bar could not clear.
    const what =
      info.step === 'second start'
        ? `trial ${info.trial + 1}/${trials}, second start (standardized)`
        : info.step === 'validation'
          ? `candidate ${info.index}/${info.count} on held-out points`
          : `sharper clamp ${info.index}/${info.count} on held-out points`;
    this.phase(`wider search: ${what}`);
  }

  iteration(info: IterationInfo, trials: number, maxIterations: number): void {
    if (info.iteration === 0) this.phaseStart = performance.now();
    const elapsed = (performance.now() - this.phaseStart) / 1000;
    const delta = Number.isNaN(info.delta) ? '–' : info.delta.toExponential(2);
    if (this.verbose) {
      this.stream.write(
        `trial ${info.trial + 1}/${trials} iteration ${info.iteration} log-likelihood ${info.logLikelihood.toPrecision(12)} Δ ${delta} ${elapsed.toFixed(1)} s\n`,
      );
      return;
    }
    if (!this.live) return;
    if (!this.bar || info.iteration === 0) {
      const total = maxIterations > 0 ? maxIterations : 1000;
      this.start(`EM trial {trial} |{bar}| iteration {value}/{total} log-likelihood {ll} Δ {delta} {time} s`, total);
    }
    // The default policy's refit at a sharper clamp numbers its iterations on, up to maxIterations more.
    if (maxIterations > 0 && info.iteration > maxIterations) this.bar!.setTotal(2 * maxIterations);
    this.bar!.update(info.iteration, { trial: `${info.trial + 1}/${trials}`, ll: info.logLikelihood.toPrecision(10), delta, time: elapsed.toFixed(1) });
  }

  stop(): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = null;
    } else if (this.live) {
      this.stream.write('\x1b[2K\r');
    }
  }

  /** Seconds since the program started. */
  get elapsed(): number {
    return (performance.now() - this.started) / 1000;
  }

  private start(format: string, total: number): void {
    this.stop();
    this.bar = new cliProgress.SingleBar(
      { format, stream: this.stream, clearOnComplete: true, hideCursor: true, barsize: 24, fps: 10 },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total, 0, { trial: '', ll: '', delta: '', time: '0.0' });
  }
}
