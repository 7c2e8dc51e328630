/**
 * The worker side of `trainInWorker`: runs one `train()` per request, streams iterations back,
 * and aborts when asked. Environment-neutral; the entry scripts plug in their `postMessage`.
 */
import { train, type TrainOptions } from '../train/train.js';
import { acquireGpu, gpuIdle } from '../backends/webgpu/device.js';
import { asksForGpu } from '../backends/select.js';
import { modelFromArrays, modelToArrays, serializeError, type FromWorker, type ToWorker, type TrainRequest } from './protocol.js';

export type Post = (message: FromWorker, transfer?: Transferable[]) => void;

/** Returns the message handler of a worker that trains on request and reports through `post`. */
export function createTrainingServer(post: Post): (message: ToWorker) => void {
  let controller: AbortController | null = null;
  // Resolves the wait for the caller's acknowledgement of the last iteration message.
  const acks: { release: (() => void) | null } = { release: null };
  const release = (): void => {
    const r = acks.release;
    acks.release = null;
    r?.();
  };
  return (message) => {
    if (message.type === 'ack') {
      release();
      return;
    }
    if (message.type === 'abort') {
      controller?.abort();
      release(); // a training waiting for an acknowledgement sees the abort next
      return;
    }
    if (controller) {
      post({ type: 'error', error: { name: 'WebGmmError', code: 'BUSY', message: 'this worker is already training' } });
      return;
    }
    controller = new AbortController();
    void serve(message, controller.signal, post, acks).finally(() => {
      controller = null;
    });
  };
}

async function serve(request: TrainRequest, signal: AbortSignal, post: Post, acks: { release: (() => void) | null }): Promise<void> {
  let last: FromWorker;
  let transfer: Transferable[] = [];
  try {
    const { inputModel, ...rest } = request.options;
    const options: TrainOptions = {
      ...rest,
      ...(inputModel ? { inputModel: modelFromArrays(inputModel) } : {}),
      signal,
    };
    if (request.iterations) {
      options.onIteration = (info) => {
        // Aborted: the caller has settled and acknowledges nothing more; train() stops next.
        if (signal.aborted) return undefined;
        const { arrays, transfer } = modelToArrays(info.model);
        // Released by the caller's ack, or by an abort arriving while this waits (see above).
        const acknowledged = new Promise<void>((resolve) => (acks.release = resolve));
        post({ type: 'iteration', info: { ...info, model: arrays } }, transfer);
        return acknowledged;
      };
    }
    if (request.kmeansIterations) {
      options.onKmeansIteration = (info) => post({ type: 'kmeans', info });
    }
    if (request.search === true) {
      options.onSearch = (info) => post({ type: 'search', info });
    }
    // The device train() will use is shared and cached, so asking for it here costs nothing extra
    // and lets the page show the adapter before the first iteration — unless train() will not ask
    // for one (see asksForGpu).
    const { values, rows, cols } = request.data;
    const backend = request.options.backend ?? 'auto';
    const covarianceType = request.options.diagonalCovariance === true ? 'diagonal' : 'full';
    const weights = request.options.observationWeights ?? null;
    const gpu = asksForGpu(backend, rows, cols, request.options.gaussians, covarianceType, weights) ? await acquireGpu() : null;
    post({ type: 'started', backendRequested: backend, ...(gpu ? { adapter: gpu.adapter } : {}) });
    const result = await train({ data: values, rows, cols }, options);
    const model = modelToArrays(result.model, true);
    last = { type: 'result', result: { ...result, model: model.arrays } };
    transfer = model.transfer;
  } catch (e) {
    last = { type: 'error', error: serializeError(e) };
  }
  // The caller terminates this worker on the last message. Dawn aborts the process if a thread
  // goes while one of its promises is pending (an aborted training leaves a mapping, a pipeline
  // compilation or a whole build in flight): let the abandoned builds, the device's queue and the
  // callbacks drain first.
  await gpuIdle();
  post(last, transfer);
}
