/// <reference types="@webgpu/types" preserve="true" />
/**
 * WebGPU device acquisition, browser-safe: the GPU comes from a provider (gpu-provider.ts), by
 * default the browser's `navigator.gpu`; the Node entry installs a provider backed by Dawn
 * (`webgpu` package). One device is shared by all training calls of a process and recreated after
 * it is lost.
 */
import { currentGpuProvider, missingGpuReason, providerGaveNoDevice } from './gpu-provider.js';
export { setGpuProvider, type GpuProvider } from './gpu-provider.js';

export interface GpuHandle {
  device: GPUDevice;
  /** Human-readable adapter description, e.g. "llvmpipe (LLVM 19.1.7, 256 bits) (lavapipe)". */
  adapter: string;
  /** Why the device was lost, once it is (set before any {@link GpuHandle.onLost} listener runs); null while it works. */
  readonly lostInfo: GPUDeviceLostInfo | null;
  /**
   * Calls `listener` when the device is lost (in a microtask if it already is); returns the
   * function that removes it (which does nothing once the device is lost). One handler on the
   * device's `lost` serves them all: that promise never settles while the device works, so each
   * handler attached to it stayed for the process's life (two per WebGPU training, a few more per
   * `'auto'` measurement: about 1 KB each).
   */
  onLost(listener: (info: GPUDeviceLostInfo) => void): () => void;
  /**
   * Counts `work` on this device that no training awaits any more (a build or a timed pass
   * abandoned at an abort) until it settles.
   */
  abandon(work: Promise<unknown>): void;
  /**
   * Resolves once the work given to {@link GpuHandle.abandon} has settled: Dawn aborts the process
   * when a thread ends while one of its promises (a pipeline's compilation, a mapping) is pending,
   * so a thread waits for this (through gpuIdle) before it ends.
   */
  settled(): Promise<void>;
  /**
   * The smallest subgroup the device may run a shader with, when it has the `subgroups` feature
   * (enabled on the device); 0 without it.
   */
  subgroupMinSize: number;
  /**
   * True for a fallback (software) adapter such as lavapipe or SwiftShader: its "device memory"
   * is the process's own memory, so data kept on the device costs host memory a second time.
   */
  hostMemory: boolean;
  /**
   * The GPU object and adapter the device came from, held for as long as the device is: Dawn
   * destroys its instance when the object its `create()` returned is collected, and the process then
   * crashes in Dawn's event processing (a provider returning a fresh `create([])` each time crashed
   * within two trainings, since the device is cached beyond the call that made it).
   */
  readonly origin: readonly unknown[];
}

let cached: Promise<GpuHandle | null> | null = null;
/** The devices with abandoned work still running (see GpuHandle.abandon), and the newest device. */
const busy = new Set<GpuHandle>();
let newest: GpuHandle | null = null;
/** The provider generation `cached` came from. */
let cachedGeneration = -1;
let lastFailure = '';

/** See idle.ts (the public gpuIdle). */
export async function gpuIdle(): Promise<void> {
  while (busy.size > 0) await Promise.all([...busy].map((handle) => handle.settled()));
  if (newest && !newest.lostInfo) await newest.device.queue.onSubmittedWorkDone().catch(() => undefined);
  // The callbacks of what just settled run before the caller goes on.
  await new Promise((resolve) => setTimeout(resolve, 0));
}

/** Why the last acquisition found no device (empty when it found one or has not run). */
export function gpuUnavailableReason(): string {
  return lastFailure;
}

/** The shared device, or null when no WebGPU adapter is available. */
export function acquireGpu(): Promise<GpuHandle | null> {
  const { generation } = currentGpuProvider();
  if (generation !== cachedGeneration) {
    cached = null;
    cachedGeneration = generation;
  }
  if (!cached) {
    // A request from a replaced provider must not clear or describe the current one's.
    const current = (): boolean => cachedGeneration === generation;
    const request: Promise<GpuHandle | null> = requestGpu(generation).then(
      (got) => {
        if (current()) lastFailure = typeof got === 'string' ? got : '';
        if (typeof got === 'string') providerGaveNoDevice(generation);
        return typeof got === 'string' ? null : got;
      },
      (e: unknown) => {
        if (current()) {
          lastFailure = `requesting a WebGPU device failed: ${e instanceof Error ? e.message : String(e)}`;
          if (cached === request) cached = null;
        }
        providerGaveNoDevice(generation);
        return null;
      },
    );
    cached = request;
  }
  return cached;
}

function describeAdapter(adapter: GPUAdapter): string {
  const info = adapter.info as GPUAdapterInfo | undefined;
  if (!info) return 'unknown adapter';
  const parts = [info.description, info.vendor, info.architecture, info.device].filter((s) => typeof s === 'string' && s !== '');
  return parts.length ? [...new Set(parts)].join(' / ') : 'unknown adapter';
}

/** The device of the provider of `generation`, or why there is none. */
async function requestGpu(generation: number): Promise<GpuHandle | string> {
  const { provider } = currentGpuProvider();
  const gpu = (await provider()) as GPU | undefined;
  if (!gpu) return missingGpuReason(provider);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return 'WebGPU found no adapter (no GPU driver; on Linux without a GPU, install Mesa\'s lavapipe Vulkan driver)';
  // Large datasets need the adapter's largest buffers and bindings; everything else stays default
  // except subgroups, which let a workgroup of at most that many components share values without
  // barriers (fused.wgsl).
  const subgroups = adapter.features.has('subgroups');
  const minSize = (adapter.info as { subgroupMinSize?: number } | undefined)?.subgroupMinSize ?? 0;
  const subgroupMinSize = subgroups && Number.isInteger(minSize) && minSize > 0 ? minSize : 0;
  const device = await adapter.requestDevice({
    requiredFeatures: subgroupMinSize > 0 ? ['subgroups' as GPUFeatureName] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  const listeners = new Set<(info: GPUDeviceLostInfo) => void>();
  const abandoned = new Set<Promise<unknown>>();
  // `isFallbackAdapter` moved from the adapter to its info in the spec; browsers have either.
  const fallback = (adapter.info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const handle: GpuHandle = {
    device,
    adapter: describeAdapter(adapter),
    lostInfo: null,
    onLost(listener) {
      if (handle.lostInfo) {
        const info = handle.lostInfo;
        queueMicrotask(() => listener(info));
        return () => undefined;
      }
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    abandon(work) {
      const done = (): void => {
        abandoned.delete(settled);
        if (abandoned.size === 0) busy.delete(handle);
      };
      const settled: Promise<unknown> = work.then(done, done);
      abandoned.add(settled);
      busy.add(handle);
    },
    async settled() {
      while (abandoned.size > 0) await Promise.allSettled([...abandoned]);
    },
    subgroupMinSize,
    hostMemory: fallback === true,
    origin: [gpu, adapter],
  };
  newest = handle;
  void device.lost.then((info) => {
    (handle as { lostInfo: GPUDeviceLostInfo | null }).lostInfo = info;
    // Only this provider's device: a lost device of a replaced provider leaves the current one be.
    if (cachedGeneration === generation) cached = null;
    for (const listener of [...listeners]) listener(info);
    listeners.clear();
  });
  return handle;
}
