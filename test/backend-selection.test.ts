// Backend selection without a WebGPU adapter (runs everywhere: the provider is replaced by one
// that finds no GPU, as on a machine without a driver).
import { describe, it, expect, afterAll } from 'vitest';
import { train, setGpuProvider, WebGmmError } from '../src/index.js';

describe('without a WebGPU adapter', () => {
  setGpuProvider(async () => undefined);
  afterAll(() => setGpuProvider(async () => (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu));
  const data = [[0, 0], [1, 1], [0, 1], [5, 5], [6, 5], [5, 6]];

  it("'auto' trains on the CPU and says so", async () => {
    const r = await train(data, { gaussians: 2, seed: 1 });
    expect(r.backend).toBe('cpu');
    expect(r.adapter).toBeUndefined();
    expect(r.warnings.join('\n')).toMatch(/using the CPU backend: .*no WebGPU/);
  });

  it("'webgpu' fails with an error that says how to get WebGPU", async () => {
    const err = await train(data, { gaussians: 2, seed: 1, backend: 'webgpu' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebGmmError);
    expect((err as Error).message).toMatch(/backend 'webgpu' is unavailable/);
    expect((err as Error).message).toMatch(/lavapipe/);
  });
});
