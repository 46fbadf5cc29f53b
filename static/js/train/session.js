/** One training run from a page: dataset → backend → model → Trainer, reporting epochs and snapshots to the server. */
import { tf } from '../tf.js';
import * as api from '../api.js';
import { loadDataset } from '../data/sync.js';
import { PixelCache } from '../data/images.js';
import { splitItems } from '../data/split.js';
import { buildModel, resolveModelConfig } from '../model/builder.js';
import { modelStats } from '../model/stats.js';
import { getTask } from '../model/tasks.js';
import { Trainer } from './loop.js';
import { LrController } from './schedule.js';
import { chooseBackend, gpuRenderer } from './backend.js';
import { Reporter } from './reporter.js';

/** What a run is configured by; stored with the run so a resume rebuilds exactly this. */
export const DEFAULT_RUN_CONFIG = Object.freeze({
  task: 'classification',
  epochs: 30,
  batchSize: 32,
  lr: 0.001,
  inputSize: 64,
  normalization: 'unit',
  backend: 'auto',
  valFraction: 0.2,
  seed: 1,
  snapshotEvery: 5,
  lrSchedule: true,
  model: Object.freeze({ width: 16, stages: Object.freeze([32, 64, 128]), blocksPerStage: 1, block: 'plain', activation: 'relu' }),
});

/** A config from user input over the defaults, with numbers checked. */
export function resolveRunConfig(input = {}) {
  const config = { ...DEFAULT_RUN_CONFIG, ...input, model: { ...DEFAULT_RUN_CONFIG.model, ...(input.model ?? {}) } };
  for (const key of ['epochs', 'batchSize', 'inputSize', 'snapshotEvery']) {
    if (!(Number.isInteger(config[key]) && config[key] > 0)) throw new Error(`${key} must be a positive integer`);
  }
  if (!(config.lr > 0 && config.lr < 1)) throw new Error('lr must be between 0 and 1');
  return config;
}

function plateauRule(config) {
  return config.lrSchedule ? { factor: 0.1 } : null;
}

/**
 * Runs one training session. `hooks` (all optional): onStatus(text, phase), onSync(progress), onBackend(choice),
 * onModel(stats), onRun(run), onEpoch(record), onStep(info), onSnapshot(meta), onWarning(text),
 * onTrained(model, {pixels, split, classes}) — awaited once training ends, while the model still exists.
 * Controls: pause(), resume(), stop(), setLr(lr).
 */
export class TrainingSession {
  constructor({ dataset = null, resumeRunId = null, config = {}, kind = 'train' }, hooks = {}) {
    this.dataset = dataset;
    this.resumeRunId = resumeRunId;
    this.config = resumeRunId ? null : resolveRunConfig(config);
    this.kind = kind;
    this.hooks = hooks;
    this.trainer = null;
    this.stopped = false;
  }

  status(text, phase) {
    this.hooks.onStatus?.(text, phase);
  }

  async run() {
    let run;
    let startEpoch = 0;
    let lrState = null;
    if (this.resumeRunId) {
      run = await api.getRun(this.resumeRunId);
      if (!run.snapshots.length) throw new Error('this run has no snapshot to resume from');
      this.config = run.config;
      this.dataset = run.dataset;
      startEpoch = run.snapshots[run.snapshots.length - 1].epoch;
      lrState = run.epochs.filter((e) => e.epoch < startEpoch).at(-1)?.lr_state ?? null;
    }
    const config = this.config;
    this.status(`Loading ${this.dataset}…`, 'sync');
    const data = await loadDataset(this.dataset, { onProgress: (p) => this.hooks.onSync?.(p) });
    if (run && run.dataset_hash !== data.hash) throw new Error('the dataset changed since this run started; start a new run');

    this.status('Choosing a backend…', 'backend');
    const choice = await chooseBackend(config.backend);
    this.hooks.onBackend?.(choice);

    const task = getTask(config.task);
    const model = run
      ? await tf.loadLayersModel(api.latestModelUrl(run.id))
      : buildModel(resolveModelConfig({ seed: config.seed, ...config.model, inputSize: config.inputSize, numClasses: data.classes.length }), config.task);
    if (!run) model.compile({ optimizer: tf.train.adam(config.lr), loss: 'categoricalCrossentropy' });
    const stats = modelStats(model);
    this.hooks.onModel?.(stats);

    const info = { backend: choice.backend, backend_reason: choice.reason, probes: choice.probes,
      user_agent: navigator.userAgent, gpu_renderer: gpuRenderer(), split_seed: config.seed, params: stats.params };
    run = run
      ? await api.updateRun(run.id, { status: 'running', info: { resumed_at_epoch: startEpoch, ...info } })
      : await api.createRun({ dataset: data.name, dataset_hash: data.hash, kind: this.kind, config, info });
    if (run.status !== 'running') run = await api.updateRun(run.id, { status: 'running' });
    this.hooks.onRun?.(run);
    const reporter = new Reporter(run.id, (text) => this.hooks.onWarning?.(text));

    try {
      return await this.train({ run, config, data, model, task, startEpoch, lrState, reporter, backend: choice.backend });
    } catch (err) {
      await reporter.finish('failed', { error: err.message });
      throw err;
    } finally {
      model.optimizer?.dispose();  // model.dispose() leaves the compiled optimizer's variables behind
      model.dispose();
    }
  }

  async train({ run, config, data, model, task, startEpoch, lrState, reporter, backend }) {
    this.status('Preparing images…', 'preprocess');
    const pixels = await new PixelCache(config.inputSize).fill(data.items.map((it) => it.blob),
      (done, total) => this.status(`Preparing images… ${done}/${total}`, 'preprocess'));
    const positions = data.items.map((item, index) => ({ index, label: item.label }));
    const split = this.subset(splitItems(positions, { valFraction: config.valFraction, seed: config.seed }));
    const batchOf = (list) => (indices) => {
      const chosen = indices.map((i) => list[i]);
      return { xs: pixels.batch(chosen.map((p) => p.index), config.normalization),
        ys: task.encodeLabels(chosen.map((p) => p.label), data.classes) };
    };
    const lr = new LrController({ lr: config.lr, plateau: plateauRule(config), epoch: startEpoch });
    if (lrState) lr.restore(lrState);

    this.trainer = new Trainer({
      model, task, optimizer: model.optimizer, lr, seed: config.seed, batchSize: config.batchSize,
      epochs: config.epochs, startEpoch,
      trainCount: split.train.length, getBatch: batchOf(split.train),
      valCount: split.val.length, getValBatch: batchOf(split.val),
      readEvery: 5,
      yieldFn: () => new Promise((resolve) => setTimeout(resolve, 0)),  // a hidden tab gets no animation frames
      onStep: (info) => this.hooks.onStep?.(info),
      onEpoch: async (record) => {
        const full = { ...record, backend, lr_state: lr.state() };
        this.hooks.onEpoch?.(full);
        await reporter.epoch(full);
        const due = (record.epoch + 1) % config.snapshotEvery === 0 || record.epoch + 1 === config.epochs;
        if (due || reporter.snapshotOwed !== null) await this.snapshot(model, reporter, record.epoch + 1);
      },
    });
    this.status(`Training on ${backend}…`, 'train');
    const result = await this.trainer.run();
    await this.hooks.onTrained?.(model, { pixels, split, classes: data.classes });
    const final = result.epochs.at(-1) ?? {};
    if (result.reason === 'stopped' && result.nextEpoch > startEpoch) await this.snapshot(model, reporter, result.nextEpoch);
    const summary = {
      reason: result.reason, epochs: result.nextEpoch, final_loss: final.train_loss ?? null,
      train_accuracy: final.train_accuracy ?? null, val_loss: final.val_loss ?? null,
      val_accuracy: final.val_accuracy ?? null, images_per_second: final.images_per_second ?? null,
      backend, run_id: run.id, train_items: split.train.length, val_items: split.val.length,
    };
    await reporter.finish(result.reason === 'done' ? 'finished' : result.reason === 'stopped' ? 'stopped' : 'failed', summary);
    this.status(`Run ${run.id}: ${result.reason}`, 'done');
    return summary;
  }

  /** Hook for sanity runs: they train on a fixed small subset (see overfit). Plain runs use the split as is. */
  subset(split) {
    return split;
  }

  async snapshot(model, reporter, epochsDone) {
    const meta = await reporter.snapshot(model, epochsDone);
    if (meta) this.hooks.onSnapshot?.(meta);
  }

  pause() { return this.trainer?.pause(); }
  resume() { this.trainer?.resume(); }
  stop() { this.stopped = true; return this.trainer?.stop(); }
  setLr(value) { this.trainer?.lr.set(value, 'user'); }
}
