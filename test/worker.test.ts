// trainInWorker (Node, worker_threads): same result as train() on the main thread, iterations
// streamed, errors rebuilt as webgmm's classes, abort stops the worker. Uses the built package
// (dist/), because the worker script is the compiled one a user would run.
import { describe, it, expect } from 'vitest';
import { trainInWorker, train, useEmThreads, useKMeansThreads, GaussianMixture, InvalidArgumentError, InvalidDataError, WebGmmError, type IterationInfo } from '../dist/node.js';
import { GPU_AVAILABLE } from './gpu.js';
import { Rng } from '../src/util/rng.js';
import { deserializeError, serializeError } from '../dist/worker/protocol.js';
import { sampleMixture, relErr } from './helpers.js';

const blobs = sampleMixture(
  new Rng(7),
  3000,
  [0.3, 0.3, 0.4],
  [[0, 0], [6, 1], [2, 7]],
  [[[1, 0], [0.3, 1]], [[0.7, 0], [0, 1.4]], [[1.2, 0], [-0.5, 0.6]]],
).data;

describe('trainInWorker (worker_threads)', () => {
  it('gives the same result and iteration stream as train() on the main thread (CPU)', async () => {
    const opts = { gaussians: 3, seed: 11, maxIterations: 30, backend: 'cpu' as const };
    const mainIters: number[] = [];
    const expected = await train(blobs, { ...opts, onIteration: (i: IterationInfo) => void mainIters.push(i.logLikelihood) });
    const workerIters: IterationInfo[] = [];
    let started = 0;
    const got = await trainInWorker(blobs, {
      ...opts,
      onStart: () => void started++,
      onIteration: (i) => void workerIters.push(i),
    });
    expect(started).toBe(1);
    expect(got.logLikelihood).toBe(expected.logLikelihood);
    expect(got.iterations).toBe(expected.iterations);
    expect(got.backend).toBe('cpu');
    expect(Array.from(got.model.means)).toEqual(Array.from(expected.model.means));
    expect(Array.from(got.model.covariances)).toEqual(Array.from(expected.model.covariances));
    expect(got.model.predict(blobs)).toEqual(expected.model.predict(blobs));
    expect(workerIters.map((i) => i.logLikelihood)).toEqual(mainIters);
    // Each streamed model is a usable GaussianMixture, and the last one is the result.
    const last = workerIters[workerIters.length - 1]!;
    expect(last.backend).toBe('cpu');
    expect(Array.from(last.model.weights)).toEqual(Array.from(got.model.weights));
    expect(blobs.data.byteLength).toBeGreaterThan(0); // copied by default, not detached
  });

  it('the result arrives with its factors: the caller\'s thread factorizes nothing (seconds at thousands of dimensions)', async () => {
    const opts = { gaussians: 3, seed: 11, maxIterations: 10, backend: 'cpu' as const };
    const expected = await train(blobs, opts);
    const fromArrays = GaussianMixture.fromArrays;
    let factorized = 0;
    GaussianMixture.fromArrays = (...args: Parameters<typeof fromArrays>) => {
      factorized++;
      return fromArrays(...args);
    };
    try {
      const got = await trainInWorker(blobs, opts);
      expect(factorized).toBe(0);
      for (const key of ['weights', 'means', 'covariances', 'choleskyFactors', 'precisionFactors', 'logDets'] as const) {
        expect(Array.from(got.model[key]), key).toEqual(Array.from(expected.model[key]));
      }
      expect([got.model.gaussians, got.model.dimensionality, got.model.covarianceType]).toEqual([3, 2, 'full']);
      expect(Array.from(got.model.scoreSamples(blobs))).toEqual(Array.from(expected.model.scoreSamples(blobs)));
    } finally {
      GaussianMixture.fromArrays = fromArrays;
    }
  });

  it.skipIf(!GPU_AVAILABLE)('runs the WebGPU backend in the worker, matching the main thread', async () => {
    const opts = { gaussians: 3, seed: 5, maxIterations: 15, tolerance: 0, backend: 'webgpu' as const };
    const expected = await train(blobs, opts);
    let adapter: string | undefined;
    const got = await trainInWorker(blobs, { ...opts, onStart: (s) => void (adapter = s.adapter) });
    expect(got.backend).toBe('webgpu');
    expect(adapter).toBeTruthy();
    expect(got.adapter).toBe(adapter);
    expect(relErr(got.logLikelihood, expected.logLikelihood)).toBeLessThan(1e-9);
    // Weights float32 cannot hold keep 'auto' on the CPU before any device, here as in train().
    let weighted: { adapter?: string } | undefined;
    const rows = 100_000;
    const many = { data: Float64Array.from({ length: rows * 2 }, (_, i) => blobs.data[i % blobs.data.length]!), rows, cols: 2 };
    const w = await trainInWorker(many, {
      gaussians: 2, seed: 1, maxIterations: 1, observationWeights: Float64Array.from({ length: rows }, (_, i) => (i < 2 ? 1 : 1e-200)),
      onStart: (s) => void (weighted = s),
    });
    expect(w.backend).toBe('cpu');
    expect(weighted).toEqual({});
  });

  it('forwards onSearch: the wider search\'s steps as train() reports them here', async () => {
    const opts = { gaussians: 3, seed: 5, trials: 2, maxIterations: 30, backend: 'cpu' as const };
    const here: string[] = [];
    await train(blobs, { ...opts, onSearch: (s) => void here.push(JSON.stringify(s)) });
    const there: string[] = [];
    await trainInWorker(blobs, { ...opts, onSearch: (s) => void there.push(JSON.stringify(s)) });
    expect(here.length).toBeGreaterThan(2);
    expect(there).toEqual(here);
  });

  it('passes useEmThreads and useKMeansThreads on to its worker: the model train() gives here with them', async () => {
    // Large enough for threaded passes (32 768 points) and k-means on helpers.
    const rng = new Rng(5);
    const n = 40000;
    const data = new Float64Array(n * 3);
    for (let i = 0; i < n * 3; i++) data[i] = (Math.floor(i / 3) % 3) * 4 + rng.nextNormal() * (1 + (i % 3) * 0.3);
    const points = { data, rows: n, cols: 3 };
    const opts = { gaussians: 3, seed: 2, maxIterations: 12, backend: 'cpu' as const };
    useKMeansThreads();
    useEmThreads();
    try {
      const here = await train(points, opts);
      const there = await trainInWorker(points, opts);
      expect(there.logLikelihood).toBe(here.logLikelihood);
      expect(Array.from(there.model.covariances)).toEqual(Array.from(here.model.covariances));
    } finally {
      useEmThreads(false);
      useKMeansThreads(false);
    }
    // Without them the worker sums each pass in one running sum: the same fit, other last bits.
    const plain = await trainInWorker(points, opts);
    expect(plain.logLikelihood).toBe((await train(points, opts)).logLikelihood);
  });

  it('a small problem under \'auto\' starts no device in the worker, and the iteration model is built when read', async () => {
    // The same exits as train(): a problem the CPU keeps by its size asks for no device.
    let small: { adapter?: string } | undefined;
    const models: unknown[] = [];
    const lazy: boolean[] = [];
    const r = await trainInWorker({ data: blobs.data.subarray(0, 200), rows: 100, cols: 2 }, {
      gaussians: 2, seed: 1, maxIterations: 2, onStart: (s) => void (small = s),
      onIteration: (info) => {
        lazy.push(typeof Object.getOwnPropertyDescriptor(info, 'model')?.get === 'function');
        models.push(info.model, info.model);
        info.model = info.model; // as on train()'s plain object: no TypeError
      },
    });
    expect(r.backend).toBe('cpu');
    expect(small).toEqual({});
    expect(lazy.every(Boolean) && lazy.length > 0).toBe(true);
    expect(models[0]).toBe(models[1]);
  });

  it("backend 'webgpu' on a shape the kernels cannot hold fails before any device is asked for", async () => {
    let started: { adapter?: string } | undefined;
    const wide = { data: new Float64Array(200 * 100).map((_, i) => Math.sin(i)), rows: 200, cols: 100 };
    const err = await trainInWorker(wide, { gaussians: 2, seed: 1, backend: 'webgpu', onStart: (s) => void (started = s) }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('UNSUPPORTED');
    expect(started).toEqual({});
  });

  it('the CLI\'s parsed data go to the worker with their buffer\'s slack, not copied', async () => {
    const { startTrainingWorker } = await import('../dist/worker/node-train-in-worker.js');
    const n = blobs.rows * blobs.cols;
    const withSlack = new Float64Array(n + 1000);
    withSlack.set(blobs.data);
    const view = withSlack.subarray(0, n);
    const opts = { gaussians: 3, seed: 2, maxIterations: 5, backend: 'cpu' as const };
    const { result, exited } = startTrainingWorker({ data: view, rows: blobs.rows, cols: blobs.cols }, { ...opts, transferData: true }, true);
    expect(withSlack.buffer.byteLength).toBe(0); // transferred, not copied
    const got = await result;
    await exited;
    expect(got.logLikelihood).toBe((await train(blobs, opts)).logLikelihood);
  });

  it("the browser entry refuses a worker that createWorker returns a second time (it terminated it; a shared one would end the running call)", async () => {
    // The browser's trainInWorker with an in-process stand-in for a Web Worker.
    const { trainInWorker: inBrowser } = await import('../dist/worker/train-in-worker.js');
    const { createTrainingServer } = await import('../dist/worker/serve.js');
    const standIn = () => {
      const listeners: ((e: { data: unknown }) => void)[] = [];
      let terminated = false;
      const server = createTrainingServer((message) => void queueMicrotask(() => !terminated && listeners.forEach((l) => l({ data: message }))));
      return {
        postMessage: (message: unknown) => void queueMicrotask(() => !terminated && server(message as never)),
        addEventListener: (type: string, l: (e: { data: unknown }) => void) => void (type === 'message' && listeners.push(l)),
        terminate: () => void (terminated = true),
      };
    };
    const opts = { gaussians: 3, seed: 5, maxIterations: 5, backend: 'cpu' as const };
    const expected = (await train(blobs, opts)).logLikelihood;
    // One after the other: the second call was never answered (the first had terminated it).
    const once = standIn();
    expect((await inBrowser(blobs, { ...opts, createWorker: () => once })).logLikelihood).toBe(expected);
    await expect(inBrowser(blobs, { ...opts, createWorker: () => once })).rejects.toMatchObject({ parameter: 'createWorker', message: expect.stringMatching(/return a new Worker each time/) });
    // At once: the second is refused, the first trains (before, both got BUSY — the reply reached
    // both — and the first's worker was terminated).
    const shared = standIn();
    const first = inBrowser(blobs, { ...opts, createWorker: () => shared });
    const second = inBrowser(blobs, { ...opts, createWorker: () => shared });
    await expect(second).rejects.toBeInstanceOf(InvalidArgumentError);
    expect((await first).logLikelihood).toBe(expected);
    // A new worker per call trains.
    expect((await inBrowser(blobs, { ...opts, createWorker: standIn })).logLikelihood).toBe(expected);
  });

  it('transferData hands the caller\'s buffer over (detached afterwards)', async () => {
    const copy = { data: blobs.data.slice(), rows: blobs.rows, cols: blobs.cols };
    const got = await trainInWorker(copy, { gaussians: 3, seed: 11, maxIterations: 5, backend: 'cpu', transferData: true });
    expect(copy.data.byteLength).toBe(0);
    const expected = await train(blobs, { gaussians: 3, seed: 11, maxIterations: 5, backend: 'cpu' });
    expect(got.logLikelihood).toBe(expected.logLikelihood);
  });

  it('by default transfers nothing (no ArrayBuffer of this thread is detached): the data go as shared memory, weights and a model as copies', async () => {
    // A detached ArrayBuffer makes V8 check every typed array of this thread for detachment from
    // then on (its ArrayBufferDetaching protector): a page's or a CLI's loops ran 15–65 % slower.
    const { runInWorker } = await import('../dist/worker/train-in-worker.js');
    const sent: { message: { data: { values: Float64Array } }; transfer: ArrayBuffer[] }[] = [];
    const channel = {
      send: (message: unknown, transfer: ArrayBuffer[]) => void sent.push({ message: message as never, transfer }),
      listen: (onMessage: (m: unknown) => void) => queueMicrotask(() => onMessage({ type: 'error', error: { name: 'Error', message: 'stop here' } })),
      terminate: () => undefined,
    };
    const weights = Float64Array.from({ length: blobs.rows }, (_, i) => 1 + (i % 2));
    const start = (await train(blobs, { gaussians: 3, seed: 4, maxIterations: 1, backend: 'cpu' })).model;
    for (const data of [blobs, Array.from({ length: 50 }, (_, i) => [i, i % 7])]) {
      await runInWorker(() => channel as never, data, { gaussians: 3, observationWeights: data === blobs ? weights : undefined, inputModel: data === blobs ? start : undefined }).catch(() => undefined);
      const last = sent[sent.length - 1]!;
      expect(last.transfer).toEqual([]);
      expect(last.message.data.values.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
    expect(weights.byteLength).toBe(blobs.rows * 8);
    expect(blobs.data.byteLength).toBe(blobs.rows * blobs.cols * 8);
  });

  it('where no shared memory can be sent (a page that is not cross-origin isolated) it transfers nothing either: the data go by structured clone', async () => {
    const { spawnSync } = await import('node:child_process');
    const script = `
      globalThis.crossOriginIsolated = false;
      const { runInWorker } = await import('./dist/worker/train-in-worker.js');
      const sent = [];
      const channel = { send: (m, t) => sent.push({ m, t }), listen: (on) => queueMicrotask(() => on({ type: 'error', error: { name: 'Error', message: 'stop' } })), terminate: () => {} };
      const compact = new Float64Array([1, 2, 3, 4, 5, 6, 7, 8]);
      const view = new Float64Array(20).subarray(2, 10);
      for (const data of [{ data: compact, rows: 4, cols: 2 }, { data: view, rows: 4, cols: 2 }, [[1, 2], [3, 4], [5, 6]]]) {
        await runInWorker(() => channel, data, { gaussians: 1 }).catch(() => {});
      }
      console.log(JSON.stringify(sent.map(({ m, t }) => ({ transfers: t.length, shared: m.data.values.buffer instanceof SharedArrayBuffer, same: m.data.values === compact, length: m.data.values.buffer.byteLength / 8 }))));
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: new URL('..', import.meta.url), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      { transfers: 0, shared: false, same: true, length: 8 }, // cloned as it is
      { transfers: 0, shared: false, same: false, length: 8 }, // packed first: a clone of the view would copy its whole buffer
      { transfers: 0, shared: false, same: false, length: 6 },
    ]);
  });

  it('accepts float32 data and observation weights', async () => {
    const f32 = { data: Float32Array.from(blobs.data), rows: blobs.rows, cols: blobs.cols };
    const w = Array.from({ length: blobs.rows }, (_, i) => 1 + (i % 3));
    const opts = { gaussians: 3, seed: 3, maxIterations: 8, backend: 'cpu' as const, observationWeights: w };
    const expected = await train(f32, opts);
    const got = await trainInWorker(f32, opts);
    expect(got.logLikelihood).toBe(expected.logLikelihood);
  });

  it('accepts number[][] data and a warm-start model, and rejects an already aborted signal', async () => {
    const rows = Array.from({ length: 600 }, (_, i) => [blobs.data[2 * i]!, blobs.data[2 * i + 1]!]);
    const start = (await train(rows, { gaussians: 3, seed: 4, maxIterations: 1, backend: 'cpu' })).model;
    const opts = { gaussians: 3, inputModel: start, maxIterations: 6, tolerance: 0, backend: 'cpu' as const };
    const expected = await train(rows, opts);
    const got = await trainInWorker(rows, { ...opts, inputModel: start.toJSON() });
    expect(got.logLikelihood).toBe(expected.logLikelihood);
    expect(Array.from(got.model.covariances)).toEqual(Array.from(expected.model.covariances));
    const aborted = AbortSignal.abort();
    await expect(trainInWorker(rows, { gaussians: 3, signal: aborted })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('the browser worker script, loaded outside a Web Worker, says what it is', async () => {
    await expect(import('../dist/worker/worker-entry.js')).rejects.toThrow(/webgmm\/worker is the script of a browser Web Worker .* In Node, trainInWorker from 'webgmm' starts its own worker_threads worker/);
    // A page's window has addEventListener and postMessage too: not a worker either.
    const g = globalThis as { addEventListener?: unknown; postMessage?: unknown };
    g.addEventListener = () => undefined;
    g.postMessage = () => undefined;
    try {
      // @ts-expect-error a query string makes a second instance of the module
      await expect(import('../dist/worker/worker-entry.js?as-window')).rejects.toThrow(/webgmm\/worker is the script of a browser Web Worker/);
    } finally {
      delete g.addEventListener;
      delete g.postMessage;
    }
  });

  it('rebuilds errors as webgmm\'s classes, naming the parameter or the row', async () => {
    const bad = trainInWorker(blobs, { gaussians: 3, trials: 0 });
    await expect(bad).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(bad).rejects.toMatchObject({ parameter: 'trials', code: 'INVALID_ARGUMENT' });
    const nan = blobs.data.slice();
    nan[2 * blobs.cols + 1] = NaN;
    // Dense typed input is validated in the worker, so this error crosses the boundary.
    const badData = trainInWorker({ data: nan, rows: blobs.rows, cols: blobs.cols }, { gaussians: 3 });
    await expect(badData).rejects.toBeInstanceOf(InvalidDataError);
    await expect(badData).rejects.toMatchObject({ row: 2, column: 1 });
    // A defect (not one of webgmm's errors) keeps the worker's stack: the CLI prints it for reports.
    const defect = new TypeError('x is not a function');
    const rebuilt = deserializeError(structuredClone(serializeError(defect)));
    expect(rebuilt).toMatchObject({ name: 'TypeError', message: 'x is not a function', stack: defect.stack });
    expect(serializeError(new InvalidDataError('bad', 1, 2)).stack).toBeUndefined();
    // A Node error with a code of its own is a defect too, not one of webgmm's (user) errors.
    const nodeError = Object.assign(new Error('spawn failed'), { code: 'ERR_WORKER_INIT_FAILED' });
    const back = deserializeError(structuredClone(serializeError(nodeError)));
    expect(back).not.toBeInstanceOf(WebGmmError);
    expect(back).toMatchObject({ message: 'spawn failed', stack: nodeError.stack, code: 'ERR_WORKER_INIT_FAILED' });
  });

  it('rejects options that cannot reach the worker with InvalidArgumentError, not a TypeError or DataCloneError', async () => {
    await expect(trainInWorker(blobs, null as never)).rejects.toThrow(InvalidArgumentError);
    await expect(trainInWorker(blobs, null as never)).rejects.toThrow(/options must be an object/);
    // The browser entry's trainInWorker too: a rejection, not a TypeError thrown before it (it read
    // options.createWorker before checking options).
    const { trainInWorker: browserTrainInWorker } = await import('../dist/index.js');
    for (const options of [null, undefined, 5]) {
      let pending: Promise<unknown> | undefined;
      expect(() => void (pending = browserTrainInWorker(blobs, options as never))).not.toThrow();
      await expect(pending).rejects.toMatchObject({ parameter: 'options' });
    }
    const fn = trainInWorker(blobs, { gaussians: 3, tolerance: (() => 1) as never });
    await expect(fn).rejects.toMatchObject({ parameter: 'tolerance' });
    await expect(fn).rejects.toThrow(/tolerance is a function/);
    const nested = trainInWorker(blobs, { gaussians: 3, inputModel: undefined, maxIterations: { valueOf: () => 3 } as never });
    await expect(nested).rejects.toBeInstanceOf(InvalidArgumentError);
    // The model, the data's length and the callbacks are checked as train() checks them, before a
    // worker starts: the same error classes, naming the option.
    const badModel = trainInWorker(blobs, { gaussians: 3, inputModel: { weights: [1] } as never });
    await expect(badModel).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(badModel).rejects.toMatchObject({ parameter: 'inputModel' });
    await expect(badModel).rejects.toThrow(/inputModel is invalid/);
    await expect(train(blobs, { gaussians: 3, inputModel: { weights: [1] } as never })).rejects.toThrow(/inputModel is invalid/);
    const wrongK = (await train(blobs, { gaussians: 2, seed: 1, backend: 'cpu', maxIterations: 1 })).model;
    await expect(trainInWorker(blobs, { gaussians: 3, inputModel: wrongK })).rejects.toMatchObject({ parameter: 'inputModel' });
    for (const name of ['onIteration', 'onKmeansIteration', 'onStart', 'createWorker'] as const) {
      const r = trainInWorker(blobs, { gaussians: 3, [name]: 5 } as never);
      await expect(r).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(r).rejects.toMatchObject({ parameter: name });
    }
    await expect(trainInWorker(blobs, { gaussians: 3, gausians: 2 } as never)).rejects.toMatchObject({ parameter: 'gausians' });
    // A misspelt flag value is not silently false; a stand-in signal is refused, not used (its
    // `reason`, 42, was the rejection).
    await expect(trainInWorker(blobs, { gaussians: 3, transferData: 'yes' } as never)).rejects.toMatchObject({ parameter: 'transferData' });
    const fake = { aborted: true, reason: 42 };
    await expect(trainInWorker(blobs, { gaussians: 3, signal: fake } as never)).rejects.toMatchObject({ parameter: 'signal' });
    await expect(train(blobs, { gaussians: 3, signal: fake } as never)).rejects.toMatchObject({ parameter: 'signal' });
    // The browser's createWorker would be ignored in Node: refused, saying so.
    await expect(trainInWorker(blobs, { gaussians: 3, createWorker: () => null } as never)).rejects.toThrow(/createWorker is for browsers .* in Node, trainInWorker starts its own worker_threads worker/);
    const longer = { data: new Float64Array(blobs.rows * blobs.cols + 5), rows: blobs.rows, cols: blobs.cols };
    await expect(trainInWorker(longer, { gaussians: 3 })).rejects.toThrow(/values but rows × cols/);
    await expect(train(longer, { gaussians: 3 })).rejects.toThrow(/values but rows × cols/);
    // Weights train() would refuse are refused before packing turns them into numbers.
    const strings = trainInWorker(blobs, { gaussians: 3, observationWeights: Array(blobs.rows).fill('1') as never });
    await expect(strings).rejects.toMatchObject({ parameter: 'observationWeights' });
    await expect(strings).rejects.toThrow(/observationWeights\[0\] = "1": weights must be finite and ≥ 0/);
  });

  it('abort rejects at once and no iteration arrives afterwards', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    let afterAbort = 0;
    const run = trainInWorker(blobs, {
      gaussians: 3, seed: 2, maxIterations: 0, tolerance: 0, backend: 'cpu', signal: controller.signal,
      onIteration: (i) => {
        if (controller.signal.aborted) afterAbort++;
        seen.push(i.iteration);
        if (i.iteration === 3) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.at(-1)).toBe(3);
    expect(afterAbort).toBe(0);
  });

  it('waits for an async onIteration, as train() does, and rejects with its rejection', async () => {
    let running = 0;
    let most = 0;
    const slow = async (): Promise<void> => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
    };
    const r = await trainInWorker(blobs, { gaussians: 3, seed: 3, maxIterations: 8, tolerance: 0, backend: 'cpu', onIteration: slow });
    expect(r.iterations).toBe(8);
    expect(most).toBe(1); // one callback at a time: training waited for each
    expect(running).toBe(0); // none left running after the result
    const failing = trainInWorker(blobs, { gaussians: 3, seed: 3, backend: 'cpu', onIteration: async ({ iteration }) => {
      if (iteration === 2) throw new Error('async boom');
    } });
    await expect(failing).rejects.toThrow('async boom');
    // onKmeansIteration and onSearch are not waited for, but their rejections fail the call too
    // (they were unhandled: the process ended).
    for (const name of ['onKmeansIteration', 'onSearch'] as const) {
      const rejecting = trainInWorker(blobs, { gaussians: 3, seed: 3, backend: 'cpu', [name]: async () => {
        throw new Error(`async ${name} boom`);
      } });
      await expect(rejecting).rejects.toThrow(`async ${name} boom`);
    }
    // A rejection that comes after the worker's result still fails the call (it resolved), and the
    // call waits for these promises before it resolves.
    const late = trainInWorker(blobs, { gaussians: 3, seed: 3, backend: 'cpu', onKmeansIteration: async () => {
      await new Promise((r) => setTimeout(r, 300));
      throw new Error('late boom');
    } });
    await expect(late).rejects.toThrow('late boom');
    let settledCallbacks = 0;
    const waited = await trainInWorker(blobs, { gaussians: 3, seed: 3, backend: 'cpu', onKmeansIteration: async () => {
      await new Promise((r) => setTimeout(r, 100));
      settledCallbacks++;
    } });
    expect(settledCallbacks).toBe(waited.trials[0]!.kmeansIterations);
  });

  // Dawn aborts the whole process when a worker thread is terminated with a GPU operation in flight:
  // this test process would die (SIGABRT) rather than fail.
  it.skipIf(!GPU_AVAILABLE)('stopping a WebGPU training early (abort, a throwing callback) leaves the process running', async () => {
    const larger = sampleMixture(new Rng(9), 20_000, [0.5, 0.5], [[0, 0], [5, 5]], [[[1, 0], [0, 1]], [[1, 0], [0.2, 1]]]).data;
    for (const delay of [60, 150, 400]) {
      const controller = new AbortController();
      const run = trainInWorker(larger, { gaussians: 3, seed: 1, backend: 'webgpu', maxIterations: 0, tolerance: 0, signal: controller.signal });
      setTimeout(() => controller.abort(), delay);
      await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    }
    const throwing = trainInWorker(larger, { gaussians: 3, seed: 1, backend: 'webgpu', onIteration: ({ iteration }) => {
      if (iteration === 2) throw new Error('boom');
    } });
    await expect(throwing).rejects.toThrow('boom');
    // The aborted workers get time to stop; then a fresh run still works and matches train().
    await new Promise((r) => setTimeout(r, 1500));
    const again = await trainInWorker(blobs, { gaussians: 3, seed: 4, backend: 'webgpu', maxIterations: 5 });
    const here = await train(blobs, { gaussians: 3, seed: 4, backend: 'webgpu', maxIterations: 5 });
    expect(again.logLikelihood).toBe(here.logLikelihood);
  }, 120_000);
});
