// When a probe becomes the trial's float64 finish (Float64Probes, driven as the EM loop drives it):
// the float32 iterations since the previous probe did less than one float64 iteration would have.
import { describe, it, expect } from 'vitest';
import { Float64Probes } from '../src/train/float64-probes.js';

const TOLERANCE = 1e-12; // PROBE_REACH × tolerance = 1e-8: every change below stops an ordinary probe early
const REACH = 1e-12;

/**
 * Drives `probes` as runEM does: float32 iterations from `from` (each change within rounding:
 * observe, then due) until a probe is due; the probe's first float64 pass at that iteration
 * (start), then one float64 iteration per entry of `changes` (the first unjudged: observe, then
 * next) for as long as it goes on. Returns how many entries it took and the first float32
 * iteration after it.
 */
function probe(probes: Float64Probes, from: number, changes: number[]): { taken: number; at: number } {
  let iteration = from;
  for (;;) {
    probes.observe(true, iteration);
    if (probes.due(iteration)) break;
    iteration++;
  }
  probes.start();
  let taken = 0;
  for (const change of changes) {
    iteration++;
    taken++;
    probes.observe(false, iteration);
    if (!probes.next(change, iteration, TOLERANCE, REACH)) break;
  }
  return { taken, at: iteration + 1 };
}

/** Twenty changes falling by 0.7 per iteration from `first` (after an unjudged one). */
const converging = (first: number): number[] => [1e-3, ...Array.from({ length: 20 }, (_, i) => first * 0.7 ** i)];

describe('Float64Probes: the float64 finish', () => {
  it('a probe whose first judged change is at least the previous probe’s last times its rate goes on past a probe’s nine iterations', async () => {
    // First probe: judged 2e-6, 1e-6 (rate 0.5), above 1e-8: it stops after three passes.
    const run = (second: number[]): number => {
      const probes = new Float64Probes(2, 1000);
      const first = probe(probes, 0, [1e-3, 2e-6, 1e-6, 5e-7]);
      expect(first.taken).toBe(3);
      return probe(probes, first.at, second).taken;
    };
    // 8e-7 ≥ 1e-6 × 0.5 (though below half of 2e-6): float32 did less than a float64 iteration.
    expect(run(converging(8e-7))).toBe(21);
    // 4e-7 < 5e-7: float32 made headway; an ordinary probe, three passes.
    expect(run(converging(4e-7))).toBe(3);
  });

  it('where the previous probe’s changes did not shrink with one sign, a first judged change at least half the previous probe’s first', async () => {
    const run = (second: number[]): number => {
      const probes = new Float64Probes(2, 1000);
      // Judged −2e-6, then 3e-6: no rate to extrapolate.
      const first = probe(probes, 0, [1e-3, -2e-6, 3e-6, 2e-6]);
      expect(first.taken).toBe(3);
      return probe(probes, first.at, second).taken;
    };
    expect(run(converging(1e-6))).toBe(21);
    expect(run(converging(0.9e-6))).toBe(3);
  });

  it('the first probe is never a finish: nothing says float32 has stopped approaching', async () => {
    const probes = new Float64Probes(2, 1000);
    expect(probe(probes, 0, converging(1e-6)).taken).toBe(3);
  });

  it('a finish ends where float64’s change is more than half the largest of the eight before it (noise, a cycle)', async () => {
    const probes = new Float64Probes(2, 1000);
    const first = probe(probes, 0, [1e-3, 2e-6, 1e-6, 5e-7]);
    // Judged: 9e-7, then constant 1e-7 (the finish begins at the second judged change).
    const flat = [1e-3, 9e-7, ...Array.from({ length: 30 }, () => 1e-7)];
    // The ninth judged change (1e-7) against the largest of the eight before it (9e-7) still
    // counts as shrinking; the tenth is compared with eight changes of 1e-7: stalled.
    expect(probe(probes, first.at, flat).taken).toBe(11);
    // Changes that first grow (crossing zero from float32's point), then shrink: not stalled.
    const probes2 = new Float64Probes(2, 1000);
    const first2 = probe(probes2, 0, [1e-3, 2e-6, 1e-6, 5e-7]);
    const crossing = [1e-3, 9e-7, -7e-5, -8e-5, ...Array.from({ length: 20 }, (_, i) => -8e-5 * 0.8 ** (i + 1))];
    expect(probe(probes2, first2.at, crossing).taken).toBe(crossing.length);
  });

  it('a finish spends at most what keeps its cost beyond the float32 iterations it stands in for, with the probes’, within maxIterations', async () => {
    // A float64 iteration of 10 float32 ones, maxIterations 250. Beyond the float32 iterations they
    // stand in for, a probe's first pass costs 10 (θ_t again) and each later one 9: the first probe
    // 10 + 3 × 9; the finish goes on while everything stays within 250 — so that a run to
    // maxIterations costs at most 500 float32 iterations, handed back to float32 or not.
    const c = 10;
    const probes = new Float64Probes(c, 250);
    const first = probe(probes, 0, [1e-3, 2e-6, 1e-6, 5e-7]);
    const endless = [1e-3, ...Array.from({ length: 100 }, (_, i) => 9e-7 * 0.9 ** i)];
    const second = probe(probes, first.at, endless);
    expect(second.taken).toBeGreaterThan(9);
    const excess = c + first.taken * (c - 1) + c + second.taken * (c - 1);
    expect(excess).toBeLessThanOrEqual(250);
    expect(excess + c - 1).toBeGreaterThan(250);
  });
});
