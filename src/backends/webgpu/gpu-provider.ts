/**
 * Where WebGPU's `GPU` object comes from: by default the browser's `navigator.gpu`; the Node entry
 * installs Dawn's. Declared without WebGPU's or the DOM's type libraries, so that a Node project
 * type-checks webgmm's declarations with `lib: ["es2023"]` alone.
 */
import { InvalidArgumentError } from '../../errors.js';

/**
 * The part of WebGPU's `GPU` that webgmm calls; `navigator.gpu` and Dawn's `create()` result fit it.
 */
export interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<unknown>;
}

/** Returns the `GPU` object (navigator.gpu or Dawn's), or undefined when there is none. */
export type GpuProvider = () => Promise<GpuLike | undefined>;

let provider: GpuProvider = async () => (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
let generation = 0;

/** Replaces the source of the `GPU` object (the Node entry installs Dawn's); the next training asks it for a device. */
export function setGpuProvider(p: GpuProvider): void {
  if (typeof p !== 'function') {
    throw new InvalidArgumentError('provider', `setGpuProvider needs a function returning a promise of the GPU object (or of undefined), got ${p === null ? 'null' : typeof p}`);
  }
  provider = p;
  generation++;
}

/** The current provider, and a number that changes whenever it is replaced (device.ts drops its cached device then). */
export function currentGpuProvider(): { provider: GpuProvider; generation: number } {
  return { provider, generation };
}
