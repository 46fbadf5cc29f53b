/** When a run takes a snapshot between the steps of an epoch: every so often in a long epoch, or when asked to. */
// @ts-check

/**
 * A long epoch (100k images can take many minutes) snapshots its weights this often, so a reload, a closed lid or a
 * re-issued queue job loses at most this much training. Epoch-end snapshots count too: each one restarts the wait.
 */
export const MID_EPOCH_SNAPSHOT_SECONDS = 60;
/**
 * A snapshot someone asked for (the tab was hidden, which often precedes closing it) waits at least this long after
 * the last one, so flicking between tabs does not send the weights over and over.
 */
export const MIN_ASKED_SNAPSHOT_GAP_SECONDS = 10;

/**
 * Decides, after each step (the Trainer's StepInfo), whether a snapshot is due there. An epoch shorter than the
 * interval never gets one mid-way: its own end comes soon enough. Never at an epoch's last step either: the epoch's
 * record comes next, and a resume from there would train nothing of it.
 */
export class SnapshotClock {
  /**
   * @param {{ intervalSeconds?: number, askedGapSeconds?: number, now?: () => number }} [options]  now: in ms
   */
  constructor({ intervalSeconds = MID_EPOCH_SNAPSHOT_SECONDS, askedGapSeconds = MIN_ASKED_SNAPSHOT_GAP_SECONDS,
    now = () => globalThis.performance.now() } = {}) {
    this.intervalMs = intervalSeconds * 1000;
    this.askedGapMs = askedGapSeconds * 1000;
    this.now = now;
    /** A snapshot asked for and not yet taken: 'soon' (after the minimum gap), 'now', or false. @type {false | 'soon' | 'now'} */
    this.asked = false;
    this.start();
  }

  /** Training starts (or starts again, after a lost context): the times start over; a snapshot asked for stays asked. */
  start() {
    this.lastSnapshot = this.now();
    /** When the previous step ended (at first: when training started), so a step's own time is known. */
    this.lastStepAt = this.lastSnapshot;
    /** Where the current epoch's timing starts: just before its first step seen. @type {{ epoch: number, step: number, at: number } | null} */
    this.epochStart = null;
  }

  /** A snapshot was taken (any kind): the wait starts over. */
  taken() {
    this.lastSnapshot = this.now();
    this.asked = false;
  }

  /**
   * Ask for a snapshot at the next step where one may be taken; `now`: even if the last one was very recent (a
   * script's explicit request, not a hint such as a hidden tab).
   * @param {boolean} [now]
   */
  ask(now = false) {
    this.asked = now ? 'now' : (this.asked || 'soon');
  }

  /**
   * @param {{ epoch: number, step: number, steps: number }} info  the step just trained
   * @returns {boolean}
   */
  due({ epoch, step, steps }) {
    const at = this.now();
    if (this.epochStart?.epoch !== epoch) this.epochStart = { epoch, step: step - 1, at: this.lastStepAt };
    this.lastStepAt = at;
    if (step + 1 >= steps) return false;
    const since = at - this.lastSnapshot;
    if (this.asked) return this.asked === 'now' || since >= this.askedGapMs;
    if (since < this.intervalMs) return false;
    const start = this.epochStart;
    const epochMs = ((at - start.at) / (step - start.step)) * steps;
    return epochMs >= this.intervalMs;
  }
}
