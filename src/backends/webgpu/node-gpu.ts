/**
 * Dawn's WebGPU for Node (the `webgpu` package), loaded on first use.
 *
 * The object `create()` returns owns Dawn's instance: if it is garbage-collected while a device
 * lives, the process segfaults inside Dawn's event processing. It is therefore kept in a module
 * variable for the life of the process.
 */
import type { GpuProvider } from './gpu-provider.js';

let dawn: GPU | undefined;
let loading: Promise<GPU | undefined> | undefined;
let loadError = '';

export const nodeGpuProvider: GpuProvider & { whyMissing: () => string } = () => {
  if (dawn) return Promise.resolve(dawn);
  loading ??= (async () => {
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    try {
      const { create, globals } = await import('webgpu');
      // GPUBufferUsage, GPUMapMode, … as globals, as in a browser.
      for (const [name, value] of Object.entries(globals as Record<string, unknown>)) {
        if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
      }
      dawn = create([]);
      return dawn;
    } catch (e) {
      loadError = e instanceof Error ? e.message.split('\n')[0]! : String(e);
      return undefined;
    }
  })();
  return loading;
};
nodeGpuProvider.whyMissing = () => `Dawn's WebGPU for Node (the npm package "webgpu") could not be loaded${loadError ? `: ${loadError}` : ''}`;
