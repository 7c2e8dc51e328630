/**
 * Yardsticks for the EM kernels: the adapter's attainable GFLOP/s (shaders/calibrate.wgsl, chains
 * of independent FMAs) and the CPU's float32 BLAS peak (numpy's 4096² matmul, through Python).
 */
import { spawnSync } from 'node:child_process';
import { SHADERS } from '../src/backends/webgpu/shaders.generated.js';

const WG = 64;
const ITERATIONS = 4096;
/** Chain counts tried: the best is the adapter's attainable rate (see shaders/calibrate.wgsl). */
const CHAIN_COUNTS = [1, 2, 3, 4, 6, 8];

/** The calibration's result: the best rate and the chain count that reached it. */
export interface AdapterPeak {
  gflops: number;
  chains: number;
  /** Median GFLOP/s per chain count tried. */
  byChains: Record<number, number>;
}

/**
 * The adapter's attainable GFLOP/s: for each chain count, the median of `runs` dispatches of the
 * calibration kernel over `invocations` invocations; the best of those medians.
 */
export async function calibrateAdapter(device: GPUDevice, runs = 5, invocations = 64 * 1024): Promise<AdapterPeak> {
  const module = device.createShaderModule({ code: SHADERS.calibrate, label: 'calibrate' });
  const sink = device.createBuffer({ size: invocations * 16, usage: GPUBufferUsage.STORAGE });
  const byChains: Record<number, number> = {};
  let best: AdapterPeak = { gflops: 0, chains: 0, byChains };
  for (const chains of CHAIN_COUNTS) {
    const pipeline = await device.createComputePipelineAsync({
      layout: 'auto',
      compute: { module, entryPoint: 'main', constants: { ITERATIONS, CHAINS: chains } },
    });
    const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: sink } }] });
    const run = async (): Promise<number> => {
      const t0 = performance.now();
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(invocations / WG);
      pass.end();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      return (performance.now() - t0) / 1000;
    };
    await run(); // warm-up (pipeline compiled, threads started)
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await run());
    times.sort((a, b) => a - b);
    const gflops = (invocations * ITERATIONS * chains * 4 * 2) / times[times.length >> 1]! / 1e9;
    byChains[chains] = gflops;
    if (gflops > best.gflops) best = { gflops, chains, byChains };
  }
  sink.destroy();
  return best;
}

const BLAS_SCRIPT = `
import json, time, numpy as np
n = 4096
a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
a @ b
ts = []
for _ in range(3):
    t = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t)
ts.sort()
print(json.dumps({"gflops": 2 * n ** 3 / ts[1] / 1e9}))
`;

/**
 * numpy float32 matmul GFLOP/s with OPENBLAS_CORETYPE forced (Debian's OpenBLAS 0.3.21 does not
 * recognise recent CPUs and otherwise falls back to SSE3 kernels), or null without numpy.
 */
export function blasPeak(python: string, coreType = 'SkylakeX'): number | null {
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_CORETYPE: coreType };
  delete env.OPENBLAS_L2_SIZE;
  const r = spawnSync(python, ['-c', BLAS_SCRIPT], { env, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return null;
  try {
    return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { gflops: number }).gflops;
  } catch {
    return null;
  }
}
