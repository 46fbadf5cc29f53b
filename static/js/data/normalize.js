/** Pixel normalisation for the network input and its inverse, so a page can show what the net actually sees. */
import { tf } from '../tf.js';
import { IMAGENET_MEAN, IMAGENET_STD } from '../shared_rules.js';

export const NORMALIZATION_MODES = Object.freeze(['unit', 'symmetric', 'imagenet']);

export { IMAGENET_MEAN, IMAGENET_STD };  // defined with the server's copy of them, in static/shared_rules.json

/**
 * Per-channel [offset, scale] with normalized = pixel * scale + offset, so both directions share one definition.
 * Grayscale images under 'imagenet' use the mean of the three channel statistics, as a gray pixel is their average.
 */
function channelAffine(mode, channels) {
  if (mode === 'unit') return { scale: [1 / 255], offset: [0] };
  if (mode === 'symmetric') return { scale: [1 / 127.5], offset: [-1] };
  if (mode === 'imagenet') {
    const average = (values) => [values.reduce((a, b) => a + b, 0) / values.length];
    let mean = IMAGENET_MEAN;
    let std = IMAGENET_STD;
    if (channels === 1) {
      mean = average(IMAGENET_MEAN);
      std = average(IMAGENET_STD);
    } else if (channels !== 3) {
      throw new Error(`'imagenet' normalisation needs 1 or 3 channels, got ${channels}`);
    }
    return {
      scale: std.map((s) => 1 / (255 * s)),
      offset: mean.map((m, c) => -m / std[c]),
    };
  }
  throw new Error(`unknown normalisation mode '${mode}' (expected one of ${NORMALIZATION_MODES.join(', ')})`);
}

/**
 * Maps pixels in [0, 255] (int32 or float32, channels last: [..., h, w, c]) to the network's float32 input range:
 * 'unit' → [0, 1], 'symmetric' → [-1, 1], 'imagenet' → (x/255 - mean) / std per channel.
 * Returns a new tensor; the caller still owns (and disposes) the input.
 */
export function normalize(pixels, mode = 'unit') {
  const { scale, offset } = channelAffine(mode, pixels.shape[pixels.rank - 1]);
  return tf.tidy(() => tf.add(tf.mul(tf.cast(pixels, 'float32'), tf.tensor1d(scale)), tf.tensor1d(offset)));
}

/**
 * The inverse of normalize: int32 pixels in [0, 255] (rounded and clipped), ready for tf.browser.toPixels.
 * Clipping matters for previews of augmented inputs, which may leave the normalised range.
 */
export function denormalize(normalized, mode = 'unit') {
  const { scale, offset } = channelAffine(mode, normalized.shape[normalized.rank - 1]);
  return tf.tidy(() => {
    const pixels = tf.div(tf.sub(normalized, tf.tensor1d(offset)), tf.tensor1d(scale));
    return tf.cast(tf.clipByValue(tf.round(pixels), 0, 255), 'int32');
  });
}
