/** The pause a training loop makes between steps so that the page stays responsive, at no timer's cost. */

/**
 * Resolves after the page has had a turn of its event loop (input, messages, network). Not setTimeout(0): browsers
 * clamp a timer set from within a timer's callback chain to >= 4 ms after five levels, which a loop awaiting one per
 * step hits on every step (about 1/7 of a 27 ms wasm step at batch 32), and throttle timers in hidden tabs. Not an
 * animation frame: a hidden tab gets none. scheduler.yield() (Chromium 129+) where there is one, else a message to
 * ourselves through a MessageChannel, which neither clamps nor throttles.
 */
export function yieldToPage() {
  const { scheduler } = /** @type {any} */ (globalThis);
  if (typeof scheduler?.yield === 'function') return scheduler.yield();
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve(undefined);
    };
    channel.port2.postMessage(null);
  });
}
