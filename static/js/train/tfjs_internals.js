/**
 * The one gate in front of code that reaches into tfjs's private internals (the fused Adam update, the wasm training
 * kernels): it runs only on the tfjs release it was written and tested against.
 *
 * fused_adam.js reads the optimizer's private fields (accBeta1, accBeta2, accumulatedFirstMoment, ...) and the engine's
 * registeredVariables; the wasm kernels (wasm_conv.js, wasm_depthwise.js, wasm_heap.js) use the wasm backend's
 * typedArrayFromHeap, makeOutput, dataIdMap and its module's disposeData. None of that is public API: a new tfjs
 * release may rename or reshape any of it, and the symptom would be wrong weights rather than an error. So on any
 * other version the callers keep tfjs's stock optimizer and kernels, and say once, in the console, what they skipped.
 */
// @ts-check

/** The tfjs release (package.json pins it) whose internals the fused Adam and the wasm kernels were written for. */
export const TFJS_INTERNALS_VERSION = '4.22.0';

// What has been reported already: one warning per skipped feature per page (or Node process), not one per call.
const warned = new Set();

/**
 * True when `tf` (the tfjs namespace) is the release in TFJS_INTERNALS_VERSION. Otherwise false, after one
 * console.warn that names `feature` (what the caller skips) and `fallback` (what runs instead) and says why.
 * @param {any} tf  @param {string} feature  @param {string} fallback
 * @returns {boolean}
 */
export function internalsMatch(tf, feature, fallback) {
  const version = tf?.version?.tfjs;
  if (version === TFJS_INTERNALS_VERSION) return true;
  if (!warned.has(feature)) {
    warned.add(feature);
    console.warn(`browsertrain: skipped ${feature} and using ${fallback} instead: it relies on private internals of `
      + `tfjs ${TFJS_INTERNALS_VERSION}, and this page has tfjs ${version ?? '(unknown version)'}`);
  }
  return false;
}
