/**
 * The `worker_threads` script of the Node `trainInWorker`: Dawn provides WebGPU (its provider is
 * installed here; node-gpu.ts loads Dawn on first use and keeps its instance alive in this
 * thread), and helper threads join k-means and the CPU backend's EM where the starting thread has
 * them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { setGpuProvider } from '../backends/webgpu/device.js';
import { nodeGpuProvider } from '../backends/webgpu/node-gpu.js';
import { setCpuPassThreadProvider } from '../backends/cpu/pass-threads.js';
import { setKMeansThreadProvider } from '../train/kmeans-parallel.js';
import { nodeKMeansThreads } from './kmeans-threads.js';
import { createTrainingServer } from './serve.js';
import type { ToWorker } from './protocol.js';

setGpuProvider(nodeGpuProvider);
const threads = (workerData ?? {}) as { kmeansThreads?: boolean; emThreads?: boolean };
if (threads.kmeansThreads === true) setKMeansThreadProvider(nodeKMeansThreads);
if (threads.emThreads === true) setCpuPassThreadProvider(nodeKMeansThreads);
const port = parentPort;
if (!port) throw new Error('node-worker-entry must run in a worker thread');
const handle = createTrainingServer((message, transfer) => port.postMessage(message, (transfer ?? []) as never));
port.on('message', (message: ToWorker) => handle(message));
