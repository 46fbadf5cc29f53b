/** Learning-rate control: the current rate, user changes mid-run, the plateau/oscillation rule, and the change log. */

/**
 * The plateau rule's parameters when a run does not set them; a run stores the rule it used in config.lrSchedule.
 *   armAfter      the rule does nothing until the smoothed loss is this share below its first value: a run still on
 *                 its starting plateau (ln K for K classes) needs its full rate to leave it, not a cut
 *   smoothing     the weight of the past in the loss the rule watches (an exponential moving average over epochs)
 *   minDelta      an improvement counts when the smoothed loss falls below the best by more than this share of it
 *   patience      epochs without improvement before a cut, at least; with few steps an epoch it waits longer:
 *   patienceSteps ...until this many optimizer steps have passed without improvement
 *   oscillations  this many alternating up/down moves of the raw loss (each over minDelta) also cut the rate
 *   minLrFactor   the rate never goes below this share of the starting rate
 */
export const PLATEAU_DEFAULTS = Object.freeze({
  factor: 0.1, armAfter: 0.1, smoothing: 0.5, minDelta: 0.01, patience: 3, patienceSteps: 60, oscillations: 4,
  minLrFactor: 0.01, cooldown: 0,
});

/**
 * A run config's lrSchedule as the rule's full parameters (so the run records the exact rule), or null for a fixed
 * rate: true → the defaults, false/null → null, an object → its values over the defaults (checked).
 */
export function resolveLrSchedule(value) {
  if (value === false || value === null || value === undefined) return null;
  const rule = { ...PLATEAU_DEFAULTS, ...(value === true ? {} : value) };
  new ReduceOnPlateau(rule);  // throws on nonsense values
  return rule;
}

const percent = (share) => `${+(share * 100).toFixed(2)}%`;

/** The rule in words, for the run page. */
export function describeLrSchedule(rule) {
  if (!rule) return 'fixed learning rate (no automatic schedule)';
  const r = { ...PLATEAU_DEFAULTS, ...rule };
  return `once the smoothed epoch loss (validation, else training) is ${percent(r.armAfter)} below its start, `
    + `multiply the lr by ${r.factor} when it has not improved by more than ${percent(r.minDelta)} for `
    + `${r.patience} epochs (and at least ${r.patienceSteps} steps), or has moved up and down alternately `
    + `${r.oscillations} times; never below ${percent(r.minLrFactor)} of the starting lr`
    + `${r.minLr ? ` nor ${r.minLr}` : ''}${r.cooldown ? `, and wait ${r.cooldown} epochs after a change` : ''}`;
}

/**
 * Tip 6 of docs/tips.md, made safe for small sets: lower the learning rate when the loss stops falling or oscillates, but only once
 * it has clearly left its starting value.
 *   armed:       the smoothed loss fell `armAfter` below the first epoch's loss (until then nothing is cut);
 *   plateau:     no improvement of the smoothed loss by more than `minDelta` (relative) over its best for
 *                max(patience, ceil(patienceSteps / stepsPerEpoch)) epochs in a row;
 *   oscillation: the last `oscillations` epoch-to-epoch moves of the raw loss alternated up, down, up, ... (moves
 *                within `minDelta` of the previous loss count as flat and break the alternation), and the smoothed
 *                loss made no new low for half that many epochs: a zig-zag that still falls is noise (a detector's
 *                loss does this as it starts to find objects), not a rate too high.
 * After a reduction the counters start again, and `cooldown` epochs pass before another one may happen.
 */
export class ReduceOnPlateau {
  constructor(options = {}, { stepsPerEpoch = 1 } = {}) {
    const rule = { ...PLATEAU_DEFAULTS, ...options };
    const { factor, armAfter, smoothing, minDelta, patience, patienceSteps, oscillations, minLrFactor } = rule;
    if (!(factor > 0 && factor < 1)) throw new Error(`factor must be in (0, 1), got ${factor}`);
    if (!(Number.isInteger(patience) && patience >= 1)) throw new Error(`patience must be an integer >= 1`);
    if (!(Number.isInteger(patienceSteps) && patienceSteps >= 0)) throw new Error(`patienceSteps must be an integer >= 0`);
    if (!(Number.isInteger(oscillations) && oscillations >= 2)) throw new Error(`oscillations must be an integer >= 2`);
    if (!(armAfter >= 0 && armAfter < 1)) throw new Error(`armAfter must be in [0, 1), got ${armAfter}`);
    if (!(smoothing >= 0 && smoothing < 1)) throw new Error(`smoothing must be in [0, 1), got ${smoothing}`);
    if (!(minDelta >= 0 && minDelta < 1)) throw new Error(`minDelta must be in [0, 1), got ${minDelta}`);
    if (!(minLrFactor > 0 && minLrFactor <= 1)) throw new Error(`minLrFactor must be in (0, 1], got ${minLrFactor}`);
    Object.assign(this, rule);
    this.minLr = rule.minLr ?? 0;  // an absolute floor, as runs recorded before minLrFactor have it
    this.effectivePatience = Math.max(patience, Math.ceil(patienceSteps / Math.max(1, stepsPerEpoch)));
    Object.assign(this, { start: null, smoothed: null, armed: false, best: Infinity, previous: null, cooldownLeft: 0 });
    this.reset();
  }

  /** Forgets the waiting and the alternation run (after any lr change); the best loss is kept. */
  reset() {
    this.wait = 0;
    this.direction = 0;
    this.alternatingMoves = 0;
  }

  /** Feeds one epoch's loss; returns {lower: reason to lower the lr now, or null; armed: reason it armed now, or null}. */
  observe(loss) {
    const finite = Number.isFinite(loss);
    if (finite) {
      this.smoothed = this.smoothed === null ? loss : this.smoothing * this.smoothed + (1 - this.smoothing) * loss;
      this.start ??= this.smoothed;
    }
    if (!this.armed) {
      this.previous = finite ? loss : null;
      if (!(finite && this.smoothed <= this.start * (1 - this.armAfter))) return { lower: null, armed: null };
      this.armed = true;
      this.best = this.smoothed;
      return { lower: null, armed: `armed: the smoothed loss ${this.smoothed.toPrecision(4)} is more than `
        + `${percent(this.armAfter)} below its start ${this.start.toPrecision(4)}` };
    }
    if (finite && this.smoothed < this.best * (1 - this.minDelta)) {
      this.best = this.smoothed;
      this.wait = 0;
    } else {
      this.wait += 1;
    }
    this.trackDirection(finite ? loss : null);
    if (this.cooldownLeft > 0) {
      this.cooldownLeft -= 1;
      return { lower: null, armed: null };
    }
    let reason = null;
    if (this.wait >= this.effectivePatience) {
      reason = `plateau: the smoothed loss did not improve by more than ${percent(this.minDelta)} for ${this.wait} epochs`;
    } else if (this.alternatingMoves >= this.oscillations && this.wait >= Math.ceil(this.oscillations / 2)) {
      reason = `oscillation: the loss went up and down alternately ${this.alternatingMoves} times`;
    }
    if (reason) {
      this.reset();
      this.cooldownLeft = this.cooldown;
    }
    return { lower: reason, armed: null };
  }

  trackDirection(loss) {
    const move = loss === null || this.previous === null ? 0 : loss - this.previous;
    const direction = Math.abs(move) > this.minDelta * Math.abs(this.previous ?? 0) ? Math.sign(move) : 0;
    if (direction === 0) this.alternatingMoves = 0;
    else if (direction === -this.direction) this.alternatingMoves += 1;
    else this.alternatingMoves = 1;
    this.direction = direction;
    this.previous = loss;
  }

  /** The rule's counters as JSON, for a snapshot; `restore` puts them back on resume. */
  state() {
    const { start, smoothed, armed, best, previous, wait, direction, alternatingMoves, cooldownLeft } = this;
    return { start, smoothed, armed, best: Number.isFinite(best) ? best : null, previous, wait, direction,
      alternatingMoves, cooldownLeft };
  }

  restore(state) {
    // A state saved before the rule armed itself had no `armed`: such a run had already been cut by the old rule.
    Object.assign(this, { armed: true }, state, { best: state.best ?? Infinity });
  }
}

/**
 * Holds the learning rate of a run. Every change lands in `history` as {epoch, lr, reason}, where epoch is the
 * first epoch that trains with the new rate (the current one for a change made mid-epoch).
 * `plateau` is a ReduceOnPlateau, its options, or null for a fixed rate.
 */
export class LrController {
  constructor({ lr = 0.001, plateau = {}, epoch = 0, stepsPerEpoch = 1 } = {}) {
    checkLr(lr);
    this.lr = lr;
    this.epoch = epoch;
    this.plateau = plateau === null || plateau instanceof ReduceOnPlateau ? plateau : new ReduceOnPlateau(plateau, { stepsPerEpoch });
    this.history = [{ epoch, lr, reason: 'initial' }];
  }

  /** The floor of the rule: a share of the starting rate (and an absolute minLr where an older run recorded one). */
  floor() {
    return Math.max(this.plateau.minLr, this.history[0].lr * this.plateau.minLrFactor);
  }

  /** A change from outside the rule (the user, a resumed snapshot); the rule's patience starts over. */
  set(lr, reason = 'user', epoch = this.epoch) {
    checkLr(lr);
    this.plateau?.reset();
    return this.record(lr, reason, epoch);
  }

  /**
   * Called once after each epoch with the monitored loss; returns {changed, lr, reason}. The moment the rule arms
   * itself is recorded in `history` too (same lr, its reason), so every decision of the rule can be read back.
   * `partial`: the loss covers only part of the epoch (a training loss of an epoch resumed mid-way); the rule does
   * not see it, since a mean of the epoch's last steps would pass for a new best and the whole epochs after it for a
   * plateau.
   */
  endEpoch(epoch, loss, { partial = false } = {}) {
    this.epoch = epoch + 1;
    if (partial && this.plateau) {
      return { changed: false, lr: this.lr, reason: 'not judged: this epoch resumed mid-way, so its loss covers only its last steps' };
    }
    const { lower, armed } = this.plateau?.observe(loss) ?? { lower: null, armed: null };
    if (armed) this.history.push({ epoch: this.epoch, lr: this.lr, reason: armed });
    if (!lower) return { changed: false, lr: this.lr, reason: armed };
    const lowered = Math.max(this.floor(), this.lr * this.plateau.factor);
    if (!(lowered < this.lr)) return { changed: false, lr: this.lr, reason: `${lower}; already at the floor` };
    return this.record(lowered, lower, this.epoch);
  }

  record(lr, reason, epoch) {
    const changed = lr !== this.lr;
    this.lr = lr;
    if (changed) this.history.push({ epoch, lr, reason });
    return { changed, lr, reason };
  }

  /**
   * Puts the current rate into a tf.train optimizer. Adam and most others read their `learningRate` field on every
   * step; SGD and momentum cache it in a tensor that only setLearningRate refreshes.
   */
  applyTo(optimizer) {
    if (typeof optimizer.setLearningRate === 'function') {
      if (optimizer.learningRate !== this.lr) optimizer.setLearningRate(this.lr);
    } else {
      optimizer.learningRate = this.lr;
    }
    return optimizer;
  }

  state() {
    return { lr: this.lr, epoch: this.epoch, history: this.history.map((entry) => ({ ...entry })), plateau: this.plateau?.state() ?? null };
  }

  restore(state) {
    this.lr = state.lr;
    this.epoch = state.epoch;
    this.history = state.history.map((entry) => ({ ...entry }));
    if (this.plateau && state.plateau) this.plateau.restore(state.plateau);
  }
}

function checkLr(lr) {
  if (!(Number.isFinite(lr) && lr > 0)) throw new Error(`the learning rate must be a positive number, got ${lr}`);
}
