/** What a worker tells the queue about its device: the backend it trains on, those that work, the GPU, its speed. */
import { chooseBackend, gpuRenderer } from '../train/backend.js';

/**
 * Runs the backend probe (train/backend.js: a few timed training steps on each backend that starts) and returns the
 * device as docs/queue.md's register call takes it, with the choice's reason beside it for the page.
 * `backend`: 'auto' (the fastest), or the one backend this worker offers.
 */
export async function probeDevice(backend = 'auto') {
  const choice = await chooseBackend(backend);
  const working = Object.keys(choice.probes).filter((name) => choice.probes[name].ok);
  return {
    device: {
      backend: choice.backend,
      backends: backend === 'auto' ? working : [choice.backend],
      gpu_renderer: gpuRenderer(),
      images_per_second: choice.probes[choice.backend]?.images_per_second ?? null,
      user_agent: navigator.userAgent,
    },
    reason: choice.reason,
  };
}
