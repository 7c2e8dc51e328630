/**
 * The `worker_threads` script of the Node `trainInWorker`: Dawn provides WebGPU (imported for its
 * side effect of installing the provider and keeping Dawn's instance alive in this thread).
 */
import { parentPort } from 'node:worker_threads';
import { setGpuProvider } from '../backends/webgpu/device.js';
import { nodeGpuProvider } from '../backends/webgpu/node-gpu.js';
import { createTrainingServer } from './serve.js';
import type { ToWorker } from './protocol.js';

setGpuProvider(nodeGpuProvider);
const port = parentPort;
if (!port) throw new Error('node-worker-entry must run in a worker thread');
const handle = createTrainingServer((message, transfer) => port.postMessage(message, (transfer ?? []) as never));
port.on('message', (message: ToWorker) => handle(message));
