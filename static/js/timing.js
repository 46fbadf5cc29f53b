/** Names the phases of a run on the page's performance timeline, so benchmarks and tests can read where time went. */

export const TIMING_PREFIX = 'browsertrain:';

const now = () => globalThis.performance?.now() ?? Date.now();

/**
 * Records phase `name` as a performance measure from `start` (a performance.now() value) to now, and returns now
 * (the next phase's start). A page without the User Timing API just gets the time back.
 */
export function phaseDone(name, start) {
  const end = now();
  try {
    globalThis.performance?.measure?.(`${TIMING_PREFIX}${name}`, { start, end });
  } catch {
    // An older timeline API (no options form) only loses the record; timing must never break a run.
  }
  return end;
}

/** A point in time (performance.mark) with the same prefix: a run's start, its first step. */
export function markPoint(name) {
  try {
    globalThis.performance?.mark?.(`${TIMING_PREFIX}${name}`);
  } catch {
    // as above
  }
  return now();
}

export { now as timingNow };
