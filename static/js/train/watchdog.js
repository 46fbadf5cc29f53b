/** Tip 13 of docs/tips.md as a tool: samples tf.memory() every training step and says when tensors or bytes keep growing. */
import { tf } from '../tf.js';

/**
 * The detector's defaults. A step's count swings while loss tensors wait for their batched read (tip 17), so it
 * compares the lowest count of each window of steps (its floor), not single samples; a window must therefore be
 * longer than the read interval. The first steps are skipped: Adam creates its moment variables on step one.
 */
export const WATCHDOG_DEFAULTS = Object.freeze({
  warmupSteps: 5,       // steps ignored at the start (and after each report)
  windowSteps: 10,      // steps per window; its floor is the lowest sample in it
  risingWindows: 3,     // a leak is reported when the floor rose this many windows in a row
});

/**
 * Pure growth detection over {numTensors, numBytes} samples, one per step. `add` returns null, or once growth is
 * confirmed a report {tensors_per_step, bytes_per_step, steps, from_tensors, to_tensors, from_bytes, to_bytes};
 * after a report it starts over (a resumed run is watched afresh).
 */
export class GrowthDetector {
  constructor(options = {}) {
    const { warmupSteps, windowSteps, risingWindows } = { ...WATCHDOG_DEFAULTS, ...options };
    if (!(Number.isInteger(windowSteps) && windowSteps >= 1)) throw new Error('windowSteps must be an integer >= 1');
    if (!(Number.isInteger(risingWindows) && risingWindows >= 1)) throw new Error('risingWindows must be an integer >= 1');
    Object.assign(this, { warmupSteps, windowSteps, risingWindows });
    this.reset();
  }

  reset() {
    this.skipped = 0;
    this.window = null;    // the floor of the window being filled: {numTensors, numBytes, count}
    this.floors = [];      // floors of the completed windows, oldest first, at most risingWindows + 1
  }

  add({ numTensors, numBytes }) {
    if (this.skipped < this.warmupSteps) {
      this.skipped += 1;
      return null;
    }
    this.window ??= { numTensors, numBytes, count: 0 };
    this.window.numTensors = Math.min(this.window.numTensors, numTensors);
    this.window.numBytes = Math.min(this.window.numBytes, numBytes);
    this.window.count += 1;
    if (this.window.count < this.windowSteps) return null;
    this.floors.push(this.window);
    this.window = null;
    if (this.floors.length > this.risingWindows + 1) this.floors.shift();
    return this.check();
  }

  /** Growth means every one of the last risingWindows floors rose, in tensors or (tensor count held) in bytes. */
  check() {
    if (this.floors.length < this.risingWindows + 1) return null;
    const rose = (key) => this.floors.every((floor, i) => i === 0 || floor[key] > this.floors[i - 1][key]);
    if (!rose('numTensors') && !rose('numBytes')) return null;
    const first = this.floors[0];
    const last = this.floors.at(-1);
    const steps = this.risingWindows * this.windowSteps;
    const report = {
      tensors_per_step: (last.numTensors - first.numTensors) / steps,
      bytes_per_step: (last.numBytes - first.numBytes) / steps,
      steps,
      from_tensors: first.numTensors, to_tensors: last.numTensors,
      from_bytes: first.numBytes, to_bytes: last.numBytes,
    };
    this.reset();
    return report;
  }
}

/** Says a report in words, naming the growth per step (what a person needs to find the undisposed tensor). */
export function describeLeak(report) {
  const tensors = report.tensors_per_step;
  const bytes = report.bytes_per_step;
  return `tf.memory() grew by ${tensors.toFixed(2)} tensors (${Math.round(bytes).toLocaleString('en')} bytes) per step `
    + `over ${report.steps} steps (${report.from_tensors} → ${report.to_tensors} tensors): something allocates a tensor `
    + 'every step and never disposes it; wrap it in tf.tidy or dispose it';
}

/**
 * Feeds one tf.memory() sample per training step into a GrowthDetector. `memory` is injectable for tests.
 * `sample(stepInfo)` returns null or the report with the step's epoch/step and a message added.
 */
export class LeakWatchdog {
  constructor(options = {}, memory = () => tf.memory()) {
    this.detector = new GrowthDetector(options);
    this.memory = memory;
    this.last = null;
  }

  sample(stepInfo = {}) {
    const { numTensors, numBytes } = this.memory();
    this.last = { numTensors, numBytes };
    const report = this.detector.add(this.last);
    if (!report) return null;
    return { ...report, epoch: stepInfo.epoch ?? null, step: stepInfo.step ?? null, message: describeLeak(report) };
  }

  reset() {
    this.detector.reset();
  }
}
