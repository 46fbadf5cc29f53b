/** Learning-rate control: the current rate, user changes mid-run, the plateau/oscillation rule, and the change log. */

/** The plateau rule's parameters when a run does not set them; a run stores the rule it used in config.lrSchedule. */
export const PLATEAU_DEFAULTS = Object.freeze({ factor: 0.1, patience: 3, minDelta: 1e-4, minLr: 1e-6, oscillations: 4, cooldown: 0 });

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

/** The rule in words, for the run page. */
export function describeLrSchedule(rule) {
  if (!rule) return 'fixed learning rate (no automatic schedule)';
  const { factor, patience, minDelta, minLr, oscillations, cooldown } = { ...PLATEAU_DEFAULTS, ...rule };
  return `multiply the lr by ${factor} when the monitored epoch loss (validation, else training) has not improved by `
    + `more than ${minDelta} for ${patience} epochs, or has moved up and down alternately ${oscillations} times; `
    + `never below ${minLr}${cooldown ? `, and wait ${cooldown} epochs after a change` : ''}`;
}

/**
 * Tip 6: lower the learning rate when the monitored epoch loss stops falling or oscillates.
 *   plateau:     no improvement of more than `minDelta` over the best loss for `patience` epochs in a row;
 *   oscillation: the last `oscillations` epoch-to-epoch moves alternated up, down, up, ... (moves within
 *                `minDelta` count as flat and break the alternation).
 * After a reduction the counters start again, and `cooldown` epochs pass before another one may happen.
 */
export class ReduceOnPlateau {
  constructor(options = {}) {
    const { factor, patience, minDelta, minLr, oscillations, cooldown } = { ...PLATEAU_DEFAULTS, ...options };
    if (!(factor > 0 && factor < 1)) throw new Error(`factor must be in (0, 1), got ${factor}`);
    if (!(Number.isInteger(patience) && patience >= 1)) throw new Error(`patience must be an integer >= 1`);
    if (!(Number.isInteger(oscillations) && oscillations >= 2)) throw new Error(`oscillations must be an integer >= 2`);
    Object.assign(this, { factor, patience, minDelta, minLr, oscillations, cooldown });
    this.best = Infinity;
    this.previous = null;
    this.cooldownLeft = 0;
    this.reset();
  }

  /** Forgets the waiting and the alternation run (after any lr change); the best loss is kept. */
  reset() {
    this.wait = 0;
    this.direction = 0;
    this.alternatingMoves = 0;
  }

  /** Feeds one epoch's loss; returns the reason to lower the lr now, or null. */
  observe(loss) {
    const finite = Number.isFinite(loss);
    if (finite && loss < this.best - this.minDelta) {
      this.best = loss;
      this.wait = 0;
    } else {
      this.wait += 1;
    }
    this.trackDirection(finite ? loss : null);
    if (this.cooldownLeft > 0) {
      this.cooldownLeft -= 1;
      return null;
    }
    let reason = null;
    if (this.wait >= this.patience) {
      reason = `plateau: the loss did not improve by more than ${this.minDelta} for ${this.wait} epochs`;
    } else if (this.alternatingMoves >= this.oscillations) {
      reason = `oscillation: the loss went up and down alternately ${this.alternatingMoves} times`;
    }
    if (reason) {
      this.reset();
      this.cooldownLeft = this.cooldown;
    }
    return reason;
  }

  trackDirection(loss) {
    const move = loss === null || this.previous === null ? 0 : loss - this.previous;
    const direction = Math.abs(move) > this.minDelta ? Math.sign(move) : 0;
    if (direction === 0) this.alternatingMoves = 0;
    else if (direction === -this.direction) this.alternatingMoves += 1;
    else this.alternatingMoves = 1;
    this.direction = direction;
    this.previous = loss;
  }

  /** The rule's counters as JSON, for a snapshot; `restore` puts them back on resume. */
  state() {
    const { best, previous, wait, direction, alternatingMoves, cooldownLeft } = this;
    return { best: Number.isFinite(best) ? best : null, previous, wait, direction, alternatingMoves, cooldownLeft };
  }

  restore(state) {
    Object.assign(this, state, { best: state.best ?? Infinity });
  }
}

/**
 * Holds the learning rate of a run. Every change lands in `history` as {epoch, lr, reason}, where epoch is the
 * first epoch that trains with the new rate (the current one for a change made mid-epoch).
 * `plateau` is a ReduceOnPlateau, its options, or null for a fixed rate.
 */
export class LrController {
  constructor({ lr = 0.001, plateau = {}, epoch = 0 } = {}) {
    checkLr(lr);
    this.lr = lr;
    this.epoch = epoch;
    this.plateau = plateau === null || plateau instanceof ReduceOnPlateau ? plateau : new ReduceOnPlateau(plateau);
    this.history = [{ epoch, lr, reason: 'initial' }];
  }

  /** A change from outside the rule (the user, a resumed snapshot); the rule's patience starts over. */
  set(lr, reason = 'user', epoch = this.epoch) {
    checkLr(lr);
    this.plateau?.reset();
    return this.record(lr, reason, epoch);
  }

  /** Called once after each epoch with the monitored loss; returns {changed, lr, reason}. */
  endEpoch(epoch, loss) {
    this.epoch = epoch + 1;
    const reason = this.plateau?.observe(loss) ?? null;
    if (!reason) return { changed: false, lr: this.lr, reason: null };
    const lowered = Math.max(this.plateau.minLr, this.lr * this.plateau.factor);
    if (!(lowered < this.lr)) return { changed: false, lr: this.lr, reason: `${reason}; already at minLr` };
    return this.record(lowered, reason, this.epoch);
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
