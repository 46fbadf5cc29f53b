// Installs the npm tfjs build as the global `tf` that static/js/tf.js reads, on the deterministic cpu backend.
import * as tf from '@tensorflow/tfjs';

globalThis.tf = tf;
await tf.setBackend('cpu');
await tf.ready();
