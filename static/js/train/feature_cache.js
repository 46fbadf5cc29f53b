/** A frozen backbone's features, computed once per run, so every epoch trains only the part that is not frozen. */
import { tf } from '../tf.js';
import { isAugmenting } from '../data/augment.js';
import { frozenBoundary } from '../model/backbone.js';

// Features are kept on the device for the whole run; past this a run trains the whole model each step instead.
export const MAX_FEATURE_CACHE_BYTES = 256 * 1024 * 1024;
const FLOAT32_BYTES = 4;

/** The layers of `model` that `layerName`'s output depends on, itself included. */
function ancestorsOf(model, layerName) {
  const seen = new Set();
  const walk = (layer) => {
    if (seen.has(layer.name)) return;
    seen.add(layer.name);
    layer.inboundNodes[0]?.inboundLayers.forEach(walk);
  };
  walk(model.getLayer(layerName));
  return seen;
}

/**
 * The part of `model` after the layer `boundary`, as a model from that layer's output to the model's outputs. It
 * shares its layers (and so its weights) with `model`: training it trains `model`. Throws if a connection skips over
 * the boundary, which would make its output not enough to go on from.
 */
export function modelAfter(model, boundary) {
  const before = ancestorsOf(model, boundary);
  const start = model.getLayer(boundary).output;
  const input = tf.input({ shape: start.shape.slice(1), name: `${boundary}_features` });
  const mapped = new Map([[start.id, input]]);
  for (const layer of model.layers) {
    if (before.has(layer.name)) continue;
    const node = layer.inboundNodes[0];
    const inputs = node.inputTensors.map((tensor) => mapped.get(tensor.id));
    if (inputs.some((tensor) => !tensor)) throw new Error(`layer '${layer.name}' reaches back over '${boundary}'`);
    const output = layer.apply(inputs.length === 1 ? inputs[0] : inputs);
    node.outputTensors.forEach((tensor, i) => mapped.set(tensor.id, Array.isArray(output) ? output[i] : output));
  }
  return tf.model({ inputs: input, outputs: model.outputs.map((tensor) => mapped.get(tensor.id)), name: `${model.name}_after_${boundary}` });
}

/**
 * Built by prepare() for a run with a backbone whose first layers are frozen and whose inputs are not augmented
 * (an augmented image has new features every epoch). `model` is the trainable rest; reader() is RunInputs.reader's
 * twin over the cached features.
 */
export class FeatureCache {
  /** A cache for this run, or null when the run trains the whole model (see above). */
  static async prepare({ model, config, inputs, onProgress = () => {}, yieldFn = () => tf.nextFrame() }) {
    if (!config.backbone || isAugmenting(config.augment)) return null;
    const boundary = frozenBoundary(config.backbone, config.fineTuneBlocks);
    if (!boundary) return null;
    const output = model.getLayer(boundary).output;
    const count = inputs.data.items.length;
    if (output.shape.slice(1).reduce((a, b) => a * b, FLOAT32_BYTES) * count > MAX_FEATURE_CACHE_BYTES) return null;
    const frozen = tf.model({ inputs: model.inputs, outputs: output });
    const all = inputs.data.items.map((item, index) => ({ index, label: item.label }));
    const read = inputs.reader(all);
    const size = config.batchSize;
    const parts = [];
    try {
      for (let start = 0; start < count; start += size) {
        // Always a full batch (the last one repeats its first item), so WebGL compiles its shaders once.
        const indices = Array.from({ length: size }, (_, i) => (start + i < count ? start + i : start));
        const { xs, ys } = await read(indices);
        parts.push(tf.tidy(() => frozen.apply(xs, { training: false }).slice(0, Math.min(size, count - start))));
        tf.dispose([xs, ys]);
        onProgress(Math.min(start + size, count), count);
        await yieldFn();
      }
      return new FeatureCache({ model: modelAfter(model, boundary), features: tf.concat(parts), inputs });
    } finally {
      tf.dispose(parts);
    }
  }

  constructor({ model, features, inputs }) {
    Object.assign(this, { model, features, inputs });
  }

  /** Like RunInputs.reader: indices into `list` (positions {index, label}) → {xs: their features, ys}. */
  reader(list) {
    const { task, data } = this.inputs;
    return async (indices) => {
      const chosen = indices.map((i) => list[i]);
      return {
        xs: tf.tidy(() => tf.gather(this.features, tf.tensor1d(chosen.map((p) => p.index), 'int32'))),
        ys: task.encodeLabels(chosen.map((p) => p.label), data.classes),
      };
    };
  }

  /** Frees the features; the model shares its layers with the run's model, which owns them. */
  dispose() {
    this.features.dispose();
  }
}
