/**
 * A worker's life (docs/queue.md): register with its device, claim a job, train it while heartbeating, report how it
 * ended, claim the next. Pure: the queue's calls, the training and the clock are handed in, so the state changes on
 * 204, 409, cancel and a server that is away run under Node with fakes (tests/js/worker_loop.test.js).
 */
// @ts-check

/** Seconds between claims while no job fits (a 204), and between tries while the server is away. */
export const WAIT_SECONDS = 2;

/**
 * @typedef {object} Job  the claim's answer (docs/queue.md), with its attempt's token
 * @property {string} id
 * @property {string} run_id
 * @property {string} dataset
 * @property {string} attempt_token
 * @property {object} [config]
 *
 * @typedef {object} Outcome  how a job's training ended, as POST /complete takes it
 * @property {'finished' | 'failed' | 'stopped'} status
 * @property {string} [error]
 * @property {object} [summary]
 *
 * @typedef {object} Progress
 * @property {number} epoch   epochs done
 * @property {number | null} epochs
 * @property {number | null} images_per_second
 *
 * @typedef {object} Training  one job being trained
 * @property {Promise<Outcome>} done
 * @property {() => void} stop
 * @property {() => Progress} progress
 * @property {() => void} [snapshot]  a snapshot at the job's next step (scripts; a hidden tab is a worker's normal state)
 *
 * @typedef {object} QueueCalls  static/js/api.js's queue calls (a failed call throws, with `status` when it answered)
 * @property {(body: object) => Promise<{worker_id: string, heartbeat_seconds: number}>} register
 * @property {(workerId: string) => Promise<Job | null>} claim
 * @property {(workerId: string, body: object) => Promise<{cancel?: boolean}>} heartbeat
 * @property {(jobId: string, body: object) => Promise<unknown>} complete
 *
 * @typedef {object} Result  one job this worker is done with
 * @property {string} job_id
 * @property {string} run_id
 * @property {string} dataset
 * @property {'finished' | 'failed' | 'stopped' | 'dropped'} status  dropped: another attempt holds the job now
 * @property {string | null} error
 * @property {object | null} summary
 *
 * @typedef {'registering' | 'waiting' | 'training' | 'offline' | 'stopped' | 'error'} WorkerState
 *
 * @typedef {object} LoopHooks  what the page shows (all optional)
 * @property {(state: WorkerState, offlineSince: number | null) => void} [onState]
 * @property {(text: string) => void} [onLog]
 * @property {(workerId: string) => void} [onRegistered]
 * @property {(job: Job | null) => void} [onJob]
 * @property {(result: Result) => void} [onResult]
 * @property {(progress: Progress) => void} [onBeat]  a heartbeat got through
 */

/**
 * No answer at all, or a 5xx: the server is away, so the call is tried again. A 4xx is a refusal.
 * @param {any} err
 */
export const isOffline = (err) => !err?.status || err.status >= 500;

export class WorkerLoop {
  /**
   * @param {object} options
   * @param {QueueCalls} options.queue
   * @param {(job: Job) => Training} options.train
   * @param {(ms: number) => Promise<void>} options.sleep
   * @param {string} options.name
   * @param {object} options.device   {backend, backends, gpu_renderer, images_per_second, user_agent}
   * @param {number | null} [options.maxJobs]  stop after this many jobs (null: never)
   * @param {number} [options.waitSeconds]
   * @param {() => number} [options.now]
   * @param {LoopHooks} [hooks]
   */
  constructor({ queue, train, sleep, name, device, maxJobs = null, waitSeconds = WAIT_SECONDS, now = () => Date.now() },
    hooks = {}) {
    this.queue = queue;
    this.train = train;
    this.sleep = sleep;
    this.name = name;
    this.device = device;
    this.maxJobs = maxJobs;
    this.waitMs = waitSeconds * 1000;
    this.now = now;
    this.hooks = hooks;
    /** @type {WorkerState} */
    this.state = 'registering';
    /** @type {string | null} */
    this.workerId = null;
    this.heartbeatMs = 5000;
    /** When the server stopped answering (ms since the epoch), null while it answers. @type {number | null} */
    this.offlineSince = null;
    /** @type {Job | null} */
    this.job = null;
    /** @type {Training | null} */
    this.training = null;
    this.jobsDone = 0;
    this.stopping = false;
  }

  /** @param {WorkerState} state */
  setState(state) {
    this.state = state;
    this.hooks.onState?.(state, this.offlineSince);
  }

  /** @param {string} text */
  log(text) {
    this.hooks.onLog?.(text);
  }

  /** The server did not answer: say so once, and keep whatever is training going. */
  wentOffline() {
    if (this.offlineSince === null) {
      this.offlineSince = this.now();
      this.log(this.training ? 'the server is away; training goes on' : 'the server is away; trying again');
    }
    this.setState('offline');
  }

  /** An answer came: back from offline if we were. */
  cameBack() {
    if (this.offlineSince === null) return;
    this.offlineSince = null;
    this.log('back online');
    this.setState(this.training ? 'training' : 'waiting');
  }

  /** Registers, then claims and trains until stop() or maxJobs; resolves when it has stopped. */
  async run() {
    try {
      await this.register();
      while (!this.stopping && (this.maxJobs === null || this.jobsDone < this.maxJobs)) {
        const job = await this.claim();
        if (job) await this.work(job);
        else if (job === null && !this.stopping) {
          this.setState('waiting');
          await this.sleep(this.waitMs);
        }
      }
      this.setState('stopped');
    } catch (err) {
      this.log(`the worker stopped: ${err.message}`);
      this.setState('error');
      throw err;
    }
  }

  /** Stop claiming; a job in training is stopped too (it ends 'stopped' and is reported). */
  stop() {
    this.stopping = true;
    this.training?.stop();
  }

  async register() {
    this.setState('registering');
    for (;;) {
      try {
        const answer = await this.queue.register({ name: this.name, device: this.device });
        this.workerId = answer.worker_id;
        this.heartbeatMs = answer.heartbeat_seconds * 1000;
        this.cameBack();
        this.hooks.onRegistered?.(this.workerId);
        this.log(`registered as ${this.name} (${this.workerId})`);
        return;
      } catch (err) {
        if (!isOffline(err)) throw new Error(`the server refused this worker: ${err.message}`, { cause: err });
        this.wentOffline();
        await this.sleep(this.waitMs);
      }
    }
  }

  /** @returns {Promise<Job | null | undefined>} a job, null when none fits (204), undefined when the claim failed */
  async claim() {
    try {
      const job = await this.queue.claim(/** @type {string} */ (this.workerId));
      this.cameBack();
      return job;
    } catch (err) {
      if (err.status === 404) {  // the server forgot this worker (its database was replaced): introduce ourselves again
        this.log('the server does not know this worker any more; registering again');
        await this.register();
        return undefined;
      }
      if (isOffline(err)) this.wentOffline();
      else this.log(`the claim was refused: ${err.message}`);
      await this.sleep(this.waitMs);
      return undefined;
    }
  }

  /**
   * Trains one job: heartbeats every heartbeat_seconds while it trains; a cancel stops it, a 409 (another attempt
   * holds the job now) stops it at once and drops it unreported. Otherwise POST /complete says how it ended.
   * @param {Job} job
   */
  async work(job) {
    this.job = job;
    this.hooks.onJob?.(job);
    this.log(`claimed run ${job.run_id} (${job.dataset})`);
    const training = this.train(job);
    this.training = training;
    this.setState(this.offlineSince === null ? 'training' : 'offline');
    /** @type {Outcome} */
    let outcome;
    let ended = false;
    const finished = training.done.then(() => { ended = true; }, () => { ended = true; });
    const beats = this.heartbeats(job, training, finished, () => ended);
    try {
      outcome = await training.done;
    } catch (err) {
      outcome = { status: 'failed', error: err.message };
    }
    const verdict = await beats;
    this.training = null;
    /** @type {Result['status']} */
    let status = outcome.status;
    if (verdict === 'stale') {
      status = 'dropped';
      this.log(`run ${job.run_id} dropped: another attempt holds its job now`);
    } else {
      await this.complete(job, outcome);
      this.jobsDone += 1;
      this.log(`run ${job.run_id} ${outcome.status}${outcome.error ? `: ${outcome.error}` : ''}`);
    }
    this.job = null;
    this.hooks.onJob?.(null);
    this.hooks.onResult?.({ job_id: job.id, run_id: job.run_id, dataset: job.dataset, status,
      error: outcome.error ?? null, summary: outcome.summary ?? null });
  }

  /**
   * @param {Job} job
   * @param {Training} training
   * @param {Promise<void>} finished  settles when training ends
   * @param {() => boolean} ended
   * @returns {Promise<'stale' | 'cancel' | null>}
   */
  async heartbeats(job, training, finished, ended) {
    /** @type {'stale' | 'cancel' | null} */
    let verdict = null;
    while (!ended()) {
      await Promise.race([this.sleep(this.heartbeatMs), finished]);
      if (ended()) break;
      const progress = training.progress();
      try {
        const answer = await this.queue.heartbeat(/** @type {string} */ (this.workerId),
          { job_id: job.id, attempt_token: job.attempt_token, progress });
        this.cameBack();
        this.hooks.onBeat?.(progress);
        if (answer?.cancel && !verdict) {
          verdict = 'cancel';
          this.log(`run ${job.run_id} was cancelled; stopping`);
          training.stop();
        }
      } catch (err) {
        if (err.status === 409) {
          training.stop();
          return 'stale';
        }
        if (isOffline(err)) this.wentOffline();
        else this.log(`a heartbeat was refused: ${err.message}`);
      }
    }
    return verdict;
  }

  /**
   * Reports how the job ended; tried again for as long as the server is away (the run's end must reach it). A refusal
   * (the job was cancelled, or re-issued meanwhile) is said and not retried.
   * @param {Job} job
   * @param {Outcome} outcome
   */
  async complete(job, outcome) {
    const body = { attempt_token: job.attempt_token, status: outcome.status,
      ...(outcome.error ? { error: outcome.error } : {}) };
    for (;;) {
      try {
        await this.queue.complete(job.id, body);
        this.cameBack();
        return;
      } catch (err) {
        if (!isOffline(err)) {
          this.log(`the end of run ${job.run_id} was not taken (${err.status}: ${err.message})`);
          return;
        }
        this.wentOffline();
        await this.sleep(this.waitMs);
      }
    }
  }
}
