/** The one place page code gets TensorFlow.js: the UMD bundle's global `tf` (pages) or the one tests install. */
export const tf = globalThis.tf;
if (!tf) {
  throw new Error('TensorFlow.js is not loaded: include /vendor/tfjs/tf.min.js before the modules (or set globalThis.tf in tests)');
}
