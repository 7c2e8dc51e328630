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
  /** WebGPU's `GPU.requestAdapter`: resolves to a `GPUAdapter`, or null where there is none. */
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<unknown>;
}

/** Returns the `GPU` object (navigator.gpu or Dawn's), or undefined when there is none. */
export type GpuProvider = () => Promise<GpuLike | undefined>;

/** @internal The default: the browser's `navigator.gpu`. */
export const browserGpuProvider: GpuProvider = async () => (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
let provider: GpuProvider = browserGpuProvider;
let generation = 0;
/** The generation whose provider was last asked and gave no device (device.ts says so). */
let emptyGeneration = -1;

/** @internal device.ts: the provider of `gen` was asked and gave no device. */
export function providerGaveNoDevice(gen: number): void {
  emptyGeneration = gen;
}

/**
 * Why `p` gave no GPU object: the browser's default has no navigator.gpu, a provider of webgmm's
 * own says why (its `whyMissing`), and one a caller set returned undefined.
 */
export function missingGpuReason(p: GpuProvider): string {
  if (p === browserGpuProvider) return 'this JavaScript environment has no WebGPU (no navigator.gpu; in Node, import webgmm from its Node entry)';
  const why = (p as { whyMissing?: () => string }).whyMissing?.();
  return why ?? 'the GPU provider given to setGpuProvider returned no GPU object';
}

/**
 * Replaces the source of the `GPU` object (the Node entry installs Dawn's); the next training asks
 * it for a device. Installing the provider already installed keeps the device it gave (a
 * component that installs its provider each time it mounts would otherwise make a device per
 * mount, and the earlier ones are not destroyed); where it gave none, it is asked again.
 */
export function setGpuProvider(p: GpuProvider): void {
  if (typeof p !== 'function') {
    throw new InvalidArgumentError('provider', `setGpuProvider needs a function returning a promise of the GPU object (or of undefined), got ${p === null ? 'null' : typeof p}`);
  }
  if (p === provider && emptyGeneration !== generation) return;
  provider = p;
  generation++;
}

/** The current provider, and a number that changes whenever it is replaced (device.ts drops its cached device then). */
export function currentGpuProvider(): { provider: GpuProvider; generation: number } {
  return { provider, generation };
}
