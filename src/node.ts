/**
 * webgmm's Node entry (what `import 'webgmm'` resolves to in Node): everything the browser-safe
 * entry exports, with WebGPU provided by Dawn (the `webgpu` package) instead of `navigator.gpu`.
 */
import { setGpuProvider } from './backends/webgpu/device.js';
import { nodeGpuProvider } from './backends/webgpu/node-gpu.js';

setGpuProvider(nodeGpuProvider);

export * from './index.js';
