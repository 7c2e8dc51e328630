// Trains a 3-component mixture on 2-D points and uses the model.
// Run after `npm ci` (which builds the package):  node examples/quickstart.mjs
import { train, GaussianMixture } from 'webgmm';

// Three blobs, generated from a known mixture so the result can be checked by eye.
const truth = new GaussianMixture({
  weights: [0.5, 0.3, 0.2],
  means: [[0, 0], [6, 2], [-3, 7]],
  covariances: [[[1, 0.3], [0.3, 0.5]], [[0.8, 0], [0, 2]], [[0.4, -0.2], [-0.2, 0.6]]],
});
const points = truth.sample(5000, 42); // { data: Float64Array, rows, cols }

const result = await train(points, {
  gaussians: 3,
  trials: 3,
  seed: 1,
  onIteration: ({ trial, iteration, logLikelihood }) => {
    if (iteration % 10 === 0) console.log(`trial ${trial} iteration ${iteration}: log-likelihood ${logLikelihood.toFixed(3)}`);
  },
});

console.log(`backend ${result.backend}, ${result.iterations} iterations, converged: ${result.converged}`);
console.log(`log-likelihood ${result.logLikelihood.toFixed(3)}, BIC ${result.model.bic(points).toFixed(1)}`);
console.log(JSON.stringify(result.model.toJSON(), (_, v) => (typeof v === 'number' ? Number(v.toFixed(3)) : v)));
console.log('labels of two points:', Array.from(result.model.predict([[0.1, -0.2], [6, 2.5]])));
