// EM parity with mlpack 4.8.1: starting from mlpack's own initial model, the float64 CPU backend
// must reproduce mlpack's log-likelihood trace, its number of updates, and its final model.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { train } from '../src/index.js';
import { FIXTURES, readCsv, readTrace, relErr, maxRelErr } from './helpers.js';

const CASES = ['separated_N3000_D2_K3', 'overlap_N6000_D4_K4', 'constcol_N2000_D3_K3', 'highdim_N20000_D16_K6'];

describe.each(CASES)('mlpack EM parity, CPU backend: %s', (name) => {
  it('reproduces the log-likelihood trace, the update count and the final model', async () => {
    const trace = readTrace(name);
    const data = readCsv(join(FIXTURES, 'mlpack-em', trace.data));
    const k = trace.initialModel.weights.length;
    const seen: { iteration: number; logLikelihood: number }[] = [];
    const result = await train(data, {
      gaussians: k,
      inputModel: trace.initialModel,
      maxIterations: trace.emUpdates,
      tolerance: 1e-10,
      covarianceConstraint: 'mlpack',
      backend: 'cpu',
      seed: 1,
      onIteration: ({ iteration, logLikelihood }) => void seen.push({ iteration, logLikelihood }),
    });

    expect(result.iterations).toBe(trace.emUpdates);
    expect(seen.map((s) => s.iteration)).toEqual(Array.from({ length: trace.emUpdates + 1 }, (_, i) => i));
    for (let i = 0; i < trace.emUpdates; i++) {
      expect(relErr(seen[i]!.logLikelihood, trace.logLikelihoodTrace[i]!), `trace[${i}]`).toBeLessThan(1e-9);
    }
    expect(relErr(result.logLikelihood, trace.finalLogLikelihood)).toBeLessThan(1e-9);
    expect(seen[trace.emUpdates]!.logLikelihood).toBe(result.logLikelihood);

    const got = result.model.toJSON();
    const want = trace.finalModel;
    expect(maxRelErr(got.weights, want.weights), 'weights').toBeLessThan(1e-6);
    for (let c = 0; c < k; c++) {
      expect(maxRelErr(got.means[c]!, want.means[c]!), `mean ${c}`).toBeLessThan(1e-6);
      const gc = (got.covariances as number[][][])[c]!.flat();
      const wc = (want.covariances as number[][][])[c]!.flat();
      expect(maxRelErr(gc, wc), `covariance ${c}`).toBeLessThan(1e-6);
    }
  }, 60_000);
});
