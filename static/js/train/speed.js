/**
 * A run's training speed for its summary: the median over its epochs, and the steady state without the first epoch
 * (which pays for shader compiles and warm-up), so one slow or fast epoch at the end does not stand for the run.
 */
import { quantile } from './batch_finder.js';

/** From this session's epoch records: {images_per_second (median), images_per_second_steady (median after the first)}. */
export function runSpeed(records) {
  const rates = records.map((record) => record.images_per_second).filter(Number.isFinite);
  return {
    images_per_second: rates.length ? quantile(rates, 0.5) : null,
    images_per_second_steady: rates.length > 1 ? quantile(rates.slice(1), 0.5) : null,
  };
}
