// Backend selection without a WebGPU adapter (runs everywhere: the provider is replaced by one
// that finds no GPU, as on a machine without a driver).
import { describe, it, expect, afterAll } from 'vitest';
import { train, setGpuProvider, WebGmmError } from '../src/index.js';
import { autoKeepsCpu, fasterBackend, measurePasses } from '../src/backends/select.js';
import { Rng } from '../src/util/rng.js';
import { WebGpuBackend } from '../src/backends/webgpu/webgpu-backend.js';
import type { GpuHandle } from '../src/backends/webgpu/device.js';
import { CHEAP_FINISH_COST, float64IterationCost } from '../src/backends/backend.js';

/** Runs `body` with a GPU provider that finds no GPU and counts how often it was asked; then restores the real one. */
async function withCountingProvider(body: (asked: () => number) => Promise<void>): Promise<void> {
  let count = 0;
  setGpuProvider(async () => {
    count++;
    return undefined;
  });
  try {
    await body(() => count);
  } finally {
    setGpuProvider(async () => (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu);
  }
}

describe("'auto' chooses by measured speed", () => {
  it('keeps WebGPU where its pass takes at most half the CPU\'s', () => {
    expect(fasterBackend(0.01, 0.5)).toBe('webgpu');
    expect(fasterBackend(0.01, 0.02)).toBe('webgpu');
    expect(fasterBackend(0.051, 0.078)).toBe('cpu'); // faster, but not enough to make up for float32's convergence
    expect(fasterBackend(0.01, 0.0085)).toBe('cpu');
    expect(fasterBackend(0.01, 0.007)).toBe('cpu');
    expect(fasterBackend(1e-3, 2e-6)).toBe('cpu');
    expect(fasterBackend(2e-4, 1.1e-3)).toBe('webgpu');
  });

  it('times WebGPU past its warm-up pass unless that pass alone wins by a wide margin', async () => {
    const rng = new Rng(6);
    // 500 000 × 3, K = 3: a CPU pass of some 27 ms (estimated from a subsample).
    const n = 500_000, d = 3;
    const ds = { data: Float64Array.from({ length: n * d }, () => rng.nextNormal()), n, d };
    // A stand-in device: pass i takes delays[i] ms (the last one repeats).
    const device = (delays: number[]) => {
      let calls = 0;
      const backend = {
        kind: 'webgpu' as const, n, d,
        pass: async () => {
          const ms = delays[Math.min(calls++, delays.length - 1)]!;
          if (ms > 0) await new Promise((r) => setTimeout(r, ms));
          return { logLikelihood: 0, zeroLikelihoodPoints: 0, stats: { nk: new Float64Array(3), sums: new Float64Array(9), scatter: new Float64Array(18) } };
        },
        dispose: () => {},
      };
      return { backend, calls: () => calls };
    };
    // A slow first pass (warm-up): three more are timed, and the best of them counts.
    const slow = device([400, 30, 2, 30]);
    const m = await measurePasses(slow.backend, ds, null, { k: 3, covarianceType: 'full' });
    expect(slow.calls()).toBe(4);
    expect(m.gpuSeconds).toBeLessThan(0.025);
    // A first pass that wins even with its warm-up (here: no time at all) settles it.
    const fast = device([0]);
    const f = await measurePasses(fast.backend, ds, null, { k: 3, covarianceType: 'full' });
    expect(f.cpuSeconds).toBeGreaterThan(0.001);
    expect(fast.calls()).toBe(1);
  });

  it('keeps the CPU for a small problem without timing anything or starting a GPU device', async () => {
    // Timings of passes this small are noise (a cold JIT made the CPU lose half the runs of
    // 500 × 2, K = 2), and the choice, hence the model, must not change from run to run.
    await withCountingProvider(async (asked) => {
      const rng = new Rng(3);
      const small = Array.from({ length: 5000 }, (_, i) => [(i % 2) * 5 + rng.nextNormal(), rng.nextNormal()]);
      // 5000 × 2, K = 4 full: 5000 · 4 · 2 · 5 = 200 000 multiply-adds per pass.
      const r = await train(small, { gaussians: 4, seed: 1, maxIterations: 3 });
      expect(r.backend).toBe('cpu');
      expect(r.warnings.join('\n')).toMatch(/using the CPU backend: the problem is small \(2\.0e\+5 multiply-adds per E-step pass, under 1e\+6;/);
      expect(asked()).toBe(0);
      // 50 000 × 2, K = 4 (2e6 per pass) is not small: the GPU is asked for (and here, absent).
      const larger = Array.from({ length: 50_000 }, (_, i) => small[i % 5000]!);
      const l = await train(larger, { gaussians: 4, seed: 1, maxIterations: 1 });
      expect(asked()).toBe(1);
      expect(l.warnings.join('\n')).toMatch(/using the CPU backend: the GPU provider given to setGpuProvider returned no GPU object/);
    });
  });

  it('keeps the CPU without starting a GPU device where the M-step outweighs the pass on any adapter', async () => {
    // 1400 × 64, K = 2 full: a float64 iteration ≤ 4 float32 ones on every kind of adapter (3.4 on a
    // hardware GPU, 3.2 on a software one, with the device's round trip per pass).
    await withCountingProvider(async (asked) => {
      const rng = new Rng(21);
      const wide = { data: Float64Array.from({ length: 1400 * 64 }, (_, i) => (i % 64) + rng.nextNormal() + (Math.floor(i / 64) % 2) * 5), rows: 1400, cols: 64 };
      const r = await train(wide, { gaussians: 2, seed: 3, maxIterations: 2 });
      expect(r.backend).toBe('cpu');
      expect(r.warnings.join('\n')).toMatch(/using the CPU backend: with 1400 points in 64 dimensions the M-step outweighs the E-step, so an iteration on WebGPU would be at most 3\.4× faster/);
      expect(asked()).toBe(0);
    });
  });

  it("keeps the CPU without starting a GPU device where a pass pays little more than the device's round trip", async () => {
    // 355 × 12, K = 16 full: 1.02e6 multiply-adds a pass (above the 10⁶ of a small problem) and
    // M-steps of 2.2e5; with a software adapter's pass ratio alone a float64 iteration would cost
    // 4.4 float32 ones, with its round trip 3.2 (a hardware GPU's, with its longer one: 1.7):
    // WebGPU would not pay on either.
    expect(autoKeepsCpu(355, 12, 16, 'full', null)).toMatch(
      /^with 355 points in 12 dimensions the E-step's work \(with the M-step\) pays little more than the device's round trip, so an iteration on WebGPU would be at most 3\.2× faster/,
    );
    await withCountingProvider(async (asked) => {
      const rng = new Rng(22);
      const data = Float64Array.from({ length: 355 * 12 }, (_, i) => (i % 12) + rng.nextNormal() + (Math.floor(i / 12) % 4) * 3);
      const r = await train({ data, rows: 355, cols: 12 }, { gaussians: 16, seed: 3, maxIterations: 2 });
      expect(r.backend).toBe('cpu');
      expect(r.warnings.join('\n')).toMatch(/using the CPU backend: with 355 points in 12 dimensions the E-step's work/);
      expect(asked()).toBe(0);
    });
    // Twice the points: the pass pays for a software adapter's round trip (5.0), and the GPU is asked for.
    expect(autoKeepsCpu(710, 12, 16, 'full', null)).toBeUndefined();
  });
});

describe("a hardware GPU's costs", () => {
  it('put problems measured on an H200 on the side of the cheap-finish bound their timings put them', () => {
    // Seconds per iteration on an H200 (bench/README.md, fifth session): the CPU backend against
    // float32 WebGPU iterations. With the round trip counted as a software adapter's (1e5), the
    // digits' diagonal fits were costed at 8.9 and 17 float32 iterations where they measured 1.5
    // and 2.8, and ran 250 float32 iterations, not converged, where the CPU converged in 86 and 52.
    const hardware = WebGpuBackend.costsOn({ hostMemory: false } as GpuHandle);
    const measured: [n: number, d: number, k: number, type: 'full' | 'diagonal', ratio: number][] = [
      [1797, 64, 2, 'diagonal', 2.61 / 1.70],
      [1797, 64, 4, 'diagonal', 2.16 / 0.78],
      [1797, 64, 8, 'diagonal', 5.85 / 0.84],
      [100_000, 32, 16, 'diagonal', 0.150 / 0.000967],
      [100_000, 32, 16, 'full', 1.58 / 0.00542],
      [1_000_000, 8, 8, 'diagonal', 0.796 / 0.00146],
      [1_000_000, 8, 8, 'full', 2.03 / 0.00185],
    ];
    for (const [n, d, k, type, ratio] of measured) {
      const cost = float64IterationCost(n, k, d, type, hardware.referencePassCost, hardware.passOverhead);
      expect({ n, d, k, type, cheap: cost <= CHEAP_FINISH_COST }).toEqual({ n, d, k, type, cheap: ratio <= CHEAP_FINISH_COST });
    }
  });
});

describe('options that cannot work are refused before a GPU device is asked for', () => {
  it('a refined start whose subsamples hold fewer points than gaussians', async () => {
    await withCountingProvider(async (asked) => {
      const rng = new Rng(4);
      const data = Array.from({ length: 50_000 }, () => [rng.nextNormal(), rng.nextNormal()]);
      // 50 000 × 2, K = 40: large enough for 'auto' to ask for a device; 0.0005 × 50 000 = 25 < 40.
      await expect(train(data, { gaussians: 40, refinedStart: true, percentage: 0.0005 })).rejects.toMatchObject({
        parameter: 'percentage',
        message: expect.stringMatching(/gives 25 points per sampling, fewer than the 40 gaussians/),
      });
      expect(asked()).toBe(0);
    });
  });
});

describe('setGpuProvider', () => {
  it('refuses what is not a function, naming the parameter (a later run said "provider is not a function" and advised a driver)', () => {
    for (const bad of [null, undefined, 5, {}]) {
      expect(() => setGpuProvider(bad as never)).toThrow(expect.objectContaining({ parameter: 'provider' }));
    }
  });
});

describe('installing the same provider again', () => {
  it('asks it again where it gave no device (a device it gave is kept: webgpu.test.ts)', async () => {
    let asked = 0;
    const none = async () => {
      asked++;
      return undefined;
    };
    // Large enough (100 000 × 2, K = 2) for 'auto' to ask for a device.
    const many = Array.from({ length: 100_000 }, (_, i) => [i % 7, (i * 7919) % 13]);
    setGpuProvider(none);
    try {
      await train(many, { gaussians: 2, seed: 1, maxIterations: 1 });
      await train(many, { gaussians: 2, seed: 1, maxIterations: 1 });
      expect(asked).toBe(1); // "none" is kept while the provider stays
      setGpuProvider(none);
      await train(many, { gaussians: 2, seed: 1, maxIterations: 1 });
      expect(asked).toBe(2);
    } finally {
      setGpuProvider(async () => (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu);
    }
  });
});

describe('an adapter request that never answers', () => {
  it("'auto' rejects on abort instead of waiting for it", async () => {
    // A provider whose requestAdapter() never settles (a browser's can hang so): train() used to
    // stay pending after the abort.
    setGpuProvider(async () => ({ requestAdapter: () => new Promise<GPUAdapter | null>(() => undefined) }) as unknown as GPU);
    try {
      const many = Array.from({ length: 100_000 }, (_, i) => [i % 7, (i * 7919) % 13]);
      const signal = AbortSignal.timeout(100);
      const outcome = await Promise.race([
        train(many, { gaussians: 2, seed: 1, maxIterations: 2, signal }).then(() => 'resolved', (e: unknown) => (e as Error).name),
        new Promise((resolve) => setTimeout(() => resolve('still pending 5 s later'), 5000)),
      ]);
      expect(outcome).toBe('TimeoutError');
    } finally {
      setGpuProvider(async () => (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu);
    }
  }, 10_000);
});

describe('without a WebGPU adapter', () => {
  setGpuProvider(async () => undefined);
  afterAll(() => setGpuProvider(async () => (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu));
  const data = [[0, 0], [1, 1], [0, 1], [5, 5], [6, 5], [5, 6]];

  it("'auto' trains on the CPU and says so", async () => {
    // Large enough (100 000 × 2, K = 2: 2e6 multiply-adds per pass) for 'auto' to look for a GPU.
    const many = Array.from({ length: 100_000 }, (_, i) => data[i % 6]!.map((v) => v + ((i * 7919) % 1000) / 5000));
    const r = await train(many, { gaussians: 2, seed: 1, maxIterations: 2 });
    expect(r.backend).toBe('cpu');
    expect(r.adapter).toBeUndefined();
    // The caller's provider said "no GPU": the note says that, not "no navigator.gpu".
    expect(r.warnings.join('\n')).toMatch(/using the CPU backend: the GPU provider given to setGpuProvider returned no GPU object/);
  });

  it('says why per provider: the browser default, the Node entry\'s Dawn, a caller\'s own', async () => {
    const { missingGpuReason, browserGpuProvider } = await import('../src/backends/webgpu/gpu-provider.js');
    const { nodeGpuProvider } = await import('../src/backends/webgpu/node-gpu.js');
    expect(missingGpuReason(async () => undefined)).toBe('the GPU provider given to setGpuProvider returned no GPU object');
    expect(missingGpuReason(nodeGpuProvider)).toMatch(/^Dawn's WebGPU for Node \(the npm package "webgpu"\) could not be loaded/);
    expect(missingGpuReason(browserGpuProvider)).toMatch(/no navigator\.gpu; in Node, import webgmm from its Node entry/);
  });

  it("'webgpu' fails with an error that says how to get WebGPU", async () => {
    const err = await train(data, { gaussians: 2, seed: 1, backend: 'webgpu' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebGmmError);
    expect((err as Error).message).toMatch(/backend 'webgpu' is unavailable/);
    expect((err as Error).message).toMatch(/lavapipe/);
  });
});

describe('a model beyond the WebGPU kernels', () => {
  // Full covariances in 65 dimensions: the kernels' private arrays hold 64, whatever the adapter.
  const rows = Array.from({ length: 40 }, (_, i) => Array.from({ length: 65 }, (_, j) => Math.sin(i * 7 + j * 3) + (i % 3)));

  it("'auto' falls back to the CPU and says why", async () => {
    const r = await train(rows, { gaussians: 3, seed: 1, maxIterations: 1 });
    expect(r.backend).toBe('cpu');
    expect(r.warnings.join('\n')).toMatch(/using the CPU backend: the WebGPU kernels support full covariances up to 64 dimensions and the data has 65 \(diagonal ones up to 262140\)/);
  });

  it("'webgpu' is an error naming the limit", async () => {
    const err = await train(rows, { gaussians: 3, seed: 1, maxIterations: 1, backend: 'webgpu' }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/backend 'webgpu': the WebGPU kernels support full covariances up to 64 dimensions and the data has 65.*use backend 'cpu'/);
  });

  it('diagonal covariances go to 262 140 dimensions (one statistics dispatch row per 4), and the reduction\'s limit', async () => {
    const { WebGpuBackend } = await import('../src/backends/webgpu/webgpu-backend.js');
    expect(WebGpuBackend.unsupported(65, 3, 'diagonal')).toBeNull();
    // 3 statistics vec4s per block of 4 dimensions: 250 · 3 · 5592 = 4 194 000 ≤ 4 194 240.
    expect(WebGpuBackend.unsupported(1000, 5592, 'diagonal')).toBeNull();
    expect(WebGpuBackend.unsupported(1000, 5593, 'diagonal')).toMatch(/^the statistics of 5593 diagonal 1000-dimensional components/);
    expect(WebGpuBackend.unsupported(262140, 1, 'diagonal')).toBeNull();
    expect(WebGpuBackend.unsupported(262141, 1, 'diagonal')).toBe('the WebGPU kernels support diagonal covariances up to 262140 dimensions (a statistics dispatch row per 4) and the data has 262141');
  });

  it('parameters beyond the 64 KiB uniform block are supported (read from storage), up to 65 535 × 64 statistics vec4s', async () => {
    const { WebGpuBackend } = await import('../src/backends/webgpu/webgpu-backend.js');
    // 816 statistics vec4s per full 64-dimensional component (136 tiles × 6), 48 per diagonal one;
    // the reduction's `main` runs 64 per workgroup, `wide` one workgroup each in rows of 65 535.
    expect(WebGpuBackend.unsupported(64, 8, 'full')).toBeNull();
    expect(WebGpuBackend.unsupported(64, 81, 'full')).toBeNull();
    expect(WebGpuBackend.unsupported(64, 5140, 'full')).toBeNull();
    expect(WebGpuBackend.unsupported(64, 5141, 'full')).toMatch(/^the statistics of 5141 full 64-dimensional components \(4195056 vec4s\) exceed the 4194240 vec4s a WebGPU dispatch may reduce$/);
    expect(WebGpuBackend.unsupported(64, 87380, 'diagonal')).toBeNull();
    expect(WebGpuBackend.unsupported(64, 87381, 'diagonal')).toMatch(/^the statistics of 87381 diagonal/);
  });
});

describe('observation weights beyond float32 next to the largest', () => {
  // Two points of weight 1, the rest 1e-200: the float32 kernels would see those as 0 (2^-126 is
  // float32's smallest normal) and fit other models than the CPU (a 100× sharper clamp chosen).
  // 100 000 × 2, K = 2: large enough (2e6 multiply-adds per pass) that 'auto' does not keep the
  // CPU for the problem's size before it looks at the weights.
  const rows = Array.from({ length: 100_000 }, (_, i) => [(i % 2) * 5 + Math.sin(i), Math.cos(3 * i)]);
  const weights = rows.map((_, i) => (i < 2 ? 1 : 1e-200));

  it("'auto' keeps them on the CPU and says why, adapter or not", async () => {
    const r = await train(rows, { gaussians: 2, seed: 1, observationWeights: weights, maxIterations: 2 });
    expect(r.backend).toBe('cpu');
    expect(r.warnings.join('\n')).toMatch(/using the CPU backend: 99998 observation weights are positive but below 2\^-126 of the largest/);
  });

  it('weights float32 holds after the power-of-two unit (1e-30 next to 1) are not flagged', async () => {
    // 'auto' runs the check ('cpu' returns before it), adapter or not.
    const r = await train(rows, { gaussians: 2, seed: 1, observationWeights: rows.map((_, i) => (i < 2 ? 1 : 1e-30)), maxIterations: 2 });
    expect(r.warnings.join('\n')).not.toMatch(/beyond float32/);
    const { WebGpuBackend } = await import('../src/backends/webgpu/webgpu-backend.js');
    expect(WebGpuBackend.weightsBeyondFloat32(Float64Array.from(weights))).toBe(99_998);
    expect(WebGpuBackend.weightsBeyondFloat32(Float64Array.from([1, 2 ** -126, 0]))).toBe(0);
    expect(WebGpuBackend.weightsBeyondFloat32(Float64Array.from([1, 2 ** -127, 0]))).toBe(1);
  });
});

describe('replacing the GPU provider', () => {
  it('a request still running for the old provider neither clears nor describes the new one', async () => {
    const { acquireGpu, gpuUnavailableReason } = await import('../src/backends/webgpu/device.js');
    try {
      setGpuProvider(() => new Promise((resolve) => setTimeout(() => resolve(undefined), 50))); // slow: "no WebGPU"
      const stale = acquireGpu();
      setGpuProvider(async () => ({ requestAdapter: async () => null })); // current: "no adapter"
      expect(await acquireGpu()).toBeNull();
      expect(gpuUnavailableReason()).toMatch(/WebGPU found no adapter/);
      expect(await stale).toBeNull();
      expect(gpuUnavailableReason()).toMatch(/WebGPU found no adapter/);
    } finally {
      setGpuProvider(async () => (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu);
    }
  });
});
