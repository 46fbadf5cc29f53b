/**
 * A classic script loaded before tf.min.js. tfjs bundles regenerator-runtime, which publishes itself with a
 * strict-mode `regeneratorRuntime = runtime`; when no such global exists that throws, and its fallback,
 * Function("r", "regeneratorRuntime = r"), evaluates a string, which the Content-Security-Policy (no 'unsafe-eval')
 * refuses, and tf.min.js stops half-loaded. Declaring the global first makes the plain assignment succeed.
 */
globalThis.regeneratorRuntime = undefined;
