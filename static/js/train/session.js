/** One training run from a page: dataset → backend → model → Trainer, reporting epochs and snapshots to the server. */
import { tf } from '../tf.js';
import * as api from '../api.js';
import { loadDataset } from '../data/sync.js';
import { resolveAugment } from '../data/augment.js';
import { RunInputs } from '../data/inputs.js';
import { predictDecoded, predictItems, summarizePredictions } from '../model/evaluate.js';
import { EVAL_SCORE_THRESHOLD, detectionEvaluation, landmarksEvaluation } from '../model/evaluate_tasks.js';
import { modelStats } from '../model/stats.js';
import { getTask } from '../model/tasks.js';
import { splitSeedOf } from '../data/split.js';
import { Trainer } from './loop.js';
import { LrController, resolveLrSchedule } from './schedule.js';
import { configForData, freshModel, headConfigOf, resolveRunConfig, taskOptionsOf } from './run_config.js';
import { learningWarnings } from './diagnose.js';
import { LeakWatchdog } from './watchdog.js';
import { chooseBackend, gpuRenderer, useCpuForDecoding } from './backend.js';
import { Reporter } from './reporter.js';
import { EpochRecorder } from './recorder.js';
import { FeatureCache } from './feature_cache.js';
import { runSpeed } from './speed.js';
import { startingPoint } from './start_point.js';
import { SnapshotClock } from './snapshot_clock.js';
import { markPoint, phaseDone } from '../timing.js';
import { yieldToPage } from './page_yield.js';

const MAX_RECOVERIES = 2;

/** What a run records of its prepared task for exports and predictions (docs/tasks.md). */
function taskMetadata(task, config, classes) {
  const own = task.metadata ? task.metadata() : { task: task.name, classes };
  return { ...own, input_size: config.inputSize, resize: { mode: config.resize ?? 'stretch' } };
}

/** The WebGL context went away mid-run; the run can go on from its latest snapshot elsewhere. */
class ContextLost extends Error {
  constructor(runId) {
    super('the WebGL context was lost');
    this.runId = runId;
  }
}

/**
 * Runs one training session. `hooks` (all optional): onStatus(text, phase), onSync(progress), onBackend(choice),
 * onModel(stats), onConfig(config) (with its 'auto' settings chosen), onRun(run), onEpoch(record), onStep(info),
 * onSnapshot(meta), onWarning(text) (a problem of the page: network, context), onLearning({code, message, next_step})
 * (a sign that the run is not learning, mid-run and at the end),
 * onLeak(report) — the leak watchdog paused the run (resume() goes on),
 * onTrained(model, {pixels, split, classes, inputs}) — awaited once training ends, while the model still exists.
 * Controls: pause() (a snapshot of where it paused, so a closed tab loses nothing), resume(), stop(), setLr(lr),
 * askSnapshot() (one at the next step that allows it, e.g. when the tab is hidden).
 */
export class TrainingSession {
  constructor({ dataset = null, resumeRunId = null, fromRunId = null, moreEpochs = null, config = {}, kind = 'train',
    pixelOptions = {} }, hooks = {}) {
    this.dataset = dataset;
    this.pixelOptions = pixelOptions;  // tests only: a tiny pixel budget streams a small set (data/inputs.js)
    this.resumeRunId = resumeRunId;
    this.fromRunId = fromRunId;     // "train more": a new run from this run's last snapshot (train/start_point.js)
    this.moreEpochs = moreEpochs;
    this.config = resumeRunId || fromRunId ? null : resolveRunConfig(config);
    this.kind = kind;
    this.hooks = hooks;
    this.trainer = null;
    this.contextLost = false;
    this.excludedBackends = new Set();
    this.clock = new SnapshotClock();  // made here so that a snapshot asked for while the data loads is kept
  }

  status(text, phase) {
    this.hooks.onStatus?.(text, phase);
  }

  /**
   * Runs to the end. If the WebGL context is lost mid-run (the GPU was reset or taken), the weights on it are gone:
   * the run continues in the same run record from its latest snapshot on another backend, up to MAX_RECOVERIES times.
   */
  async run() {
    for (let recoveries = 0; ; recoveries += 1) {
      try {
        return await this.runOnce();
      } catch (err) {
        if (!(err instanceof ContextLost) || recoveries >= MAX_RECOVERIES) throw err;
        this.hooks.onWarning?.(`the WebGL context was lost; continuing from the last snapshot on another backend`);
        this.resumeRunId = err.runId;  // the run this attempt created or went on with
        this.fromRunId = null;
        this.excludedBackends.add('webgl');
      }
    }
  }

  async runOnce() {
    // Each phase lands on the performance timeline (timing.js): bench/first_step.py reads where the wait goes.
    let began = markPoint('run-start');
    const start = await startingPoint(this);
    let { run } = start;
    const { parent, startEpoch, startStep, lrState } = start;
    if (start.config) {
      this.config = start.config;
      this.dataset = start.dataset;
    }
    this.status(`Loading ${this.dataset}…`, 'sync');
    const data = await loadDataset(this.dataset, { onProgress: (p) => this.hooks.onSync?.(p) });
    began = phaseDone('sync', began);
    const source = run ?? parent;
    if (source && source.dataset_hash !== data.hash) {
      throw new Error(`the dataset changed since run ${source.id} trained on it; start a new run`);
    }
    this.config = configForData(this.config, data);
    const config = this.config;
    this.hooks.onConfig?.(config);

    // The images are decoded before the backend is chosen, on a CPU backend (backend.js says why).
    this.status('Preparing images…', 'preprocess');
    await useCpuForDecoding();
    const inputs = await RunInputs.prepare(data, { ...config, augment: resolveAugment(config.augment) }, {
      task: getTask(config.task), taskOptions: taskOptionsOf(config), subset: (split) => this.subset(split),
      onProgress: (done, total) => this.status(`Preparing images… ${done}/${total}`, 'preprocess'),
      pixelOptions: this.pixelOptions,
    });
    began = phaseDone('preprocess', began);

    this.status('Choosing a backend…', 'backend');
    const choice = await chooseBackend(this.excludedBackends.size ? 'auto' : config.backend, {
      exclude: this.excludedBackends, batchSize: config.batchSize }).catch((err) => { inputs.close(); throw err; });
    this.hooks.onBackend?.(choice);
    began = phaseDone('backend', began);
    const { lost, unwatch } = this.watchContextLoss(choice.backend);
    const { model, initScale } = start.modelUrl
      ? { model: await tf.loadLayersModel(start.modelUrl), initScale: null }
      : await freshModel(config, headConfigOf(config, data), inputs);
    const { task } = inputs;
    began = phaseDone('model', began);
    const stats = modelStats(model);
    this.hooks.onModel?.(stats);

    const info = { backend: choice.backend, backend_reason: choice.reason, probes: choice.probes,
      user_agent: navigator.userAgent, gpu_renderer: gpuRenderer(), split_seed: splitSeedOf(config), params: stats.params,
      classes: data.classes, task_metadata: taskMetadata(task, config, data.classes),
      ...(initScale ? { init_scale: initScale.map(({ layer, scale }) => ({ layer, scale })) } : {}) };
    run = run
      ? await api.updateRun(run.id, { status: 'running', info: { resumed_at_epoch: startEpoch, resumed_at_step: startStep, ...info } })
      : await api.createRun({ dataset: data.name, dataset_hash: data.hash, kind: this.kind, config,
        ...(parent ? { parent_run_id: parent.id, info: { ...info, from_snapshot: { run_id: parent.id,
          seq: parent.snapshots.at(-1).seq, epoch: startEpoch, ...(startStep ? { step: startStep } : {}) } } } : { info }) });
    if (run.status !== 'running') run = await api.updateRun(run.id, { status: 'running' });
    this.hooks.onRun?.(run);
    phaseDone('run-record', began);
    const reporter = new Reporter(run.id, (text) => this.hooks.onWarning?.(text));

    try {
      // Raced against the loss: reads from a lost context may never complete, so the old loop is abandoned.
      return await Promise.race([
        this.train({ run, config, data, inputs, model, task, startEpoch, startStep, lrState, reporter, backend: choice.backend }), lost]);
    } catch (err) {
      if (this.contextLost) throw new ContextLost(run.id);
      await reporter.finish('failed', { error: err.message });
      throw err;
    } finally {
      unwatch();
      inputs.close();
      if (!this.contextLost) {
        model.optimizer?.dispose();  // model.dispose() leaves the compiled optimizer's variables behind
        model.dispose();
      }
      this.contextLost = false;
    }
  }

  /**
   * On a lost WebGL context, give up on this attempt at once: nothing computed on that context after the loss can be
   * trusted, and reads from it may never complete. `lost` rejects when that happens.
   */
  watchContextLoss(backend) {
    let reject;
    const lost = new Promise((_, fail) => { reject = fail; });
    lost.catch(() => {});  // only ever awaited inside a race
    const canvas = backend === 'webgl' ? tf.backend().gpgpu?.gl?.canvas : null;
    if (!canvas) return { lost, unwatch: () => {} };
    const onLost = (event) => {
      event.preventDefault();
      this.contextLost = true;
      if (this.trainer) {
        this.trainer.abandoned = true;
        this.trainer.stop();
      }
      reject(new Error('the WebGL context was lost'));
    };
    canvas.addEventListener('webglcontextlost', onLost);
    return { lost, unwatch: () => canvas.removeEventListener('webglcontextlost', onLost) };
  }

  async train({ run, config, data, inputs, model, task, startEpoch, startStep, lrState, reporter, backend }) {
    const { pixels, split } = inputs;
    const setupStart = performance.now();
    this.firstStepSeen = false;
    this.firstReadSeen = false;
    // With a frozen backbone and nothing augmented, its features are computed once and only the rest trains.
    const features = await FeatureCache.prepare({ model, config, inputs,
      onProgress: (done, total) => this.status(`Computing the backbone's features… ${done}/${total}`, 'preprocess') });
    const lr = new LrController({ lr: config.lr, plateau: resolveLrSchedule(config.lrSchedule), epoch: startEpoch,
      stepsPerEpoch: Math.ceil(split.train.length / config.batchSize) });
    if (lrState) lr.restore(lrState);
    const watchdog = new LeakWatchdog();
    const recorder = new EpochRecorder({ reporter, epochs: config.epochs, snapshotEvery: config.snapshotEvery,
      startEpoch, startStep, snapshot: (position) => this.snapshot(model, reporter, position),
      endAfter: (record) => this.endAfter(record) });
    this.recorder = recorder;
    this.clock.start();

    const trainer = new Trainer({
      model: features?.model ?? model, task, optimizer: model.optimizer, lr, seed: config.seed, batchSize: config.batchSize,
      epochs: config.epochs, startEpoch, startStep,
      trainCount: split.train.length, getBatch: (features ?? inputs).reader(split.train, () => this.trainer.nextEpoch),
      valCount: split.val.length, getValBatch: (features ?? inputs).reader(split.val),
      readEvery: 5,
      yieldFn: yieldToPage,  // not tf.nextFrame: a hidden tab gets no animation frames
      onStep: async (info) => {
        this.markFirstSteps(info, trainStart);
        this.watch(watchdog, info, run);
        this.hooks.onStep?.(info);
        // Awaited by the Trainer: the weights hold still while they are sent.
        if (this.clock.due(info) && !trainer.abandoned) await recorder.between(trainer.position(), info.iteration);
      },
      onEpoch: async (record) => {
        if (trainer.abandoned) return;  // this epoch's numbers and weights came from a dead context
        const full = { ...record, backend, lr_state: lr.state() };
        this.hooks.onEpoch?.(full);
        const end = await recorder.epoch(full);
        this.flagMidRun(run, trainer.history, config, data.classes);
        if (end) this.trainer.stop();
      },
    });
    this.status(`Training on ${backend}…`, 'train');
    const trainStart = phaseDone('train-setup', setupStart);
    this.trainer = trainer;
    const result = await trainer.run();
    features?.dispose();
    if (trainer.abandoned) throw new ContextLost(run.id);  // no snapshot of weights from a lost context
    await this.hooks.onTrained?.(model, { pixels, split, classes: data.classes, inputs });
    const final = result.epochs.at(-1) ?? {};
    let summary = {
      reason: await recorder.finish(result, trainer.optimizer.iterations),
      task: config.task, epochs: result.nextEpoch, final_loss: final.train_loss ?? null,
      train_accuracy: final.train_accuracy ?? null, val_loss: final.val_loss ?? null,
      val_accuracy: final.val_accuracy ?? null, ...runSpeed(result.epochs),
      backend, run_id: run.id, train_items: split.train.length, val_items: split.val.length, split_seed: splitSeedOf(config),
      defaults: config.defaults ?? {},
      ...(this.leak ? { leak: this.leak } : {}),
    };
    this.status('Evaluating…', 'evaluate');
    summary = await this.conclude(summary, { model, task, inputs, config });
    summary.warnings = this.diagnose({ records: trainer.history, classes: data.classes, plannedEpochs: config.epochs,
      evaluation: summary.evaluation ?? null, task: config.task });
    for (const warning of summary.warnings) this.hooks.onLearning?.(warning);
    await Promise.all(this.pending ?? []);  // a finished run takes no more updates: what was sent mid-run lands first
    await reporter.finish({ stopped: 'stopped', nan: 'failed' }[summary.reason] ?? 'finished', summary);
    this.status(`Run ${run.id}: ${summary.reason}`, 'done');
    return summary;
  }

  /** The first step of this attempt (dispatched; on WebGL its shader compiles included) and its first loss read. */
  markFirstSteps(info, trainStart) {
    if (!this.firstStepSeen) {
      this.firstStepSeen = true;
      phaseDone('first-step', trainStart);
    }
    if (!this.firstReadSeen && info.loss !== null) {
      this.firstReadSeen = true;
      phaseDone('first-loss-read', trainStart);
    }
  }

  /**
   * Hook: the "not learning" warnings at the end (train/diagnose.js). Sanity runs give their own verdict instead.
   */
  diagnose(context) {
    return learningWarnings(context);
  }

  /**
   * Mid-run: a sign of not learning is said once, when it first shows (page banner via onLearning, and the run's
   * info.warnings for the run page); the final check at the end decides what the summary carries.
   */
  flagMidRun(run, records, config, classes) {
    this.flagged ??= new Set();
    const fresh = this.diagnose({ records, classes, plannedEpochs: config.epochs, task: config.task }).filter((w) => !this.flagged.has(w.code));
    if (!fresh.length) return;
    for (const warning of fresh) {
      this.flagged.add(warning.code);
      this.hooks.onLearning?.(warning);
    }
    const warnings = [...(this.midRunWarnings ?? []), ...fresh.map((w) => ({ ...w, epoch: records.length }))];
    this.midRunWarnings = warnings;
    this.background(api.updateRun(run.id, { info: { warnings } })
      .catch((err) => this.hooks.onWarning?.(`could not record a warning: ${err.message}`)));
  }

  /** An update sent without holding up training (it catches its own errors); awaited before the run ends. */
  background(promise) {
    (this.pending ??= []).push(promise);
  }

  /** Hook for sanity runs: after each epoch record, a reason to end training there (e.g. 'converged'), or null. */
  endAfter() {
    return null;
  }

  /**
   * Hook: the final summary. A plain run adds its evaluation on the validation split (per-class accuracy, the
   * confusion matrix with the items of each cell, the most confident mistakes), stored with the run.
   */
  async conclude(summary, { model, task, inputs, config }) {
    const { val } = inputs.split;
    if (!val.length) return summary;
    const options = { model, task, count: val.length, batchSize: config.batchSize, getBatch: inputs.reader(val), itemAt: inputs.itemOf(val) };
    if (task.name === 'detection') {
      const evaluation = detectionEvaluation(await predictDecoded({ ...options, decodeArg: { scoreThreshold: EVAL_SCORE_THRESHOLD } }), task, config);
      return { ...summary, map50: evaluation.map50, map: evaluation.map, evaluation };
    }
    if (task.name === 'landmarks') {
      const evaluation = landmarksEvaluation(await predictDecoded(options), task, config);
      return { ...summary, nme: evaluation.nme, evaluation };
    }
    const rows = await predictItems({ ...options, classes: inputs.data.classes });
    return { ...summary, evaluation: summarizePredictions(rows, inputs.data.classes) };
  }

  /** Tip 13 of docs/tips.md: one tf.memory() sample per step; on growth the run pauses (resume goes on) and says what grew. */
  watch(watchdog, info, run) {
    const leak = watchdog.sample(info);
    if (!leak) return;
    this.leak = leak;
    this.trainer.pause();
    this.status(`Paused by the leak watchdog: ${leak.message}`, 'paused');
    this.hooks.onLeak?.(leak);
    this.background(api.updateRun(run.id, { info: { leak } })
      .catch((err) => this.hooks.onWarning?.(`could not record the leak: ${err.message}`)));
  }

  /** Hook for sanity runs: they train on a fixed small subset (see overfit). Plain runs use the split as is. */
  subset(split) {
    return split;
  }

  /** Saves the model at `position` ({epoch, step}: train/loop.js Position); a snapshot of any kind restarts the clock. */
  async snapshot(model, reporter, position) {
    this.clock.taken();
    const meta = await reporter.snapshot(model, position);
    if (meta) this.hooks.onSnapshot?.(meta);
  }

  /**
   * Pauses between steps, then snapshots where it paused (unless nothing trained since the last one): a tab closed
   * while paused resumes at that very step. Resume and stop wait for that snapshot, since the weights must hold still.
   */
  async pause() {
    const { trainer, recorder } = this;
    if (!trainer) return;
    await trainer.pause();
    if (trainer.state !== 'paused' || trainer.abandoned) return;
    this.pausing = recorder.between(trainer.position(), trainer.optimizer.iterations);
    await this.pausing;
  }

  async resume() {
    await this.pausing;
    this.trainer?.resume();
  }

  async stop() {
    await this.pausing;
    return this.trainer?.stop();
  }

  /** A snapshot at the next step that allows one; `now`: even right after another (a script asked, not a hint). */
  askSnapshot(now = false) { this.clock.ask(now); }
  setLr(value) { this.trainer?.lr.set(value, 'user'); }
}
