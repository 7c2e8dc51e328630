/**
 * The worker side of `trainInWorker`: runs one `train()` per request, streams iterations back,
 * and aborts when asked. Environment-neutral; the entry scripts plug in their `postMessage`.
 */
import { train, type TrainOptions } from '../train/train.js';
import { acquireGpu } from '../backends/webgpu/device.js';
import { modelFromArrays, modelToArrays, serializeError, type FromWorker, type ToWorker, type TrainRequest } from './protocol.js';

export type Post = (message: FromWorker, transfer?: Transferable[]) => void;

/** Returns the message handler of a worker that trains on request and reports through `post`. */
export function createTrainingServer(post: Post): (message: ToWorker) => void {
  let controller: AbortController | null = null;
  return (message) => {
    if (message.type === 'abort') {
      controller?.abort();
      return;
    }
    if (controller) {
      post({ type: 'error', error: { name: 'WebGmmError', code: 'BUSY', message: 'this worker is already training' } });
      return;
    }
    controller = new AbortController();
    void serve(message, controller.signal, post).finally(() => {
      controller = null;
    });
  };
}

async function serve(request: TrainRequest, signal: AbortSignal, post: Post): Promise<void> {
  try {
    const { inputModel, ...rest } = request.options;
    const options: TrainOptions = {
      ...rest,
      ...(inputModel ? { inputModel: modelFromArrays(inputModel) } : {}),
      signal,
    };
    if (request.iterations) {
      options.onIteration = (info) => {
        const { arrays, transfer } = modelToArrays(info.model);
        post({ type: 'iteration', info: { ...info, model: arrays } }, transfer);
      };
    }
    if (request.kmeansIterations) {
      options.onKmeansIteration = (info) => post({ type: 'kmeans', info });
    }
    // The device train() will use is shared and cached, so asking for it here costs nothing extra
    // and lets the page show the adapter before the first iteration.
    const wantsGpu = request.options.backend !== 'cpu';
    const gpu = wantsGpu ? await acquireGpu() : null;
    post({ type: 'started', backendRequested: request.options.backend ?? 'auto', ...(gpu ? { adapter: gpu.adapter } : {}) });
    const { values, rows, cols } = request.data;
    const result = await train({ data: values, rows, cols }, options);
    const { arrays, transfer } = modelToArrays(result.model);
    post({ type: 'result', result: { ...result, model: arrays } }, transfer);
  } catch (e) {
    post({ type: 'error', error: serializeError(e) });
  }
}
