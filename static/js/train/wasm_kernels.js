/** Training kernels tfjs 4.22's wasm backend lacks (conv/depthwise backprops), built on its heap and fast kernels. */

/*
 * Why the wasm backend's thread count sticks at 1, and what fixes it (read from @tensorflow/tfjs-backend-wasm 4.22:
 * dist/backend_wasm.js and dist/flags_wasm.js; the thread cap from src/cc/backend.cc in the tfjs repository):
 *
 * - init() picks the binary once, when the backend first initialises: tfjs-backend-wasm-threaded-simd.wasm only if the
 *   env flags WASM_HAS_SIMD_SUPPORT and WASM_HAS_MULTITHREAD_SUPPORT are both true and the deprecated single-file
 *   setWasmPath() was not used; otherwise tfjs-backend-wasm-simd.wasm (or the plain one). Those two are built without
 *   pthreads, where the C++ thread pool is fixed at one thread and setThreadsCount() is silently ignored.
 * - WASM_HAS_MULTITHREAD_SUPPORT is false whenever IS_NODE (so Node always runs one thread), and in a page it is true
 *   only if `new MessageChannel().port1.postMessage(new SharedArrayBuffer(1))` succeeds. SharedArrayBuffer exists only
 *   in a cross-origin isolated document (self.crossOriginIsolated === true): the page must be served with
 *   `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp` (or `credentialless`),
 *   and every script and .wasm it loads must be same-origin (or send CORP/CORS headers).
 * - The count is read once, in the BackendWasm constructor (initWithThreadsCount(threadsCount)): setThreadsCount() and
 *   setWasmPaths() must run before tf.setBackend('wasm') / tf.ready(); later calls change nothing.
 * - Even then the C++ caps it: min(requested, 8, navigator.hardwareConcurrency / 2), the default being
 *   hardwareConcurrency / 2. On a 2-core machine that is 1 thread even when isolated; 4+ logical cores are needed to
 *   see a second thread. getThreadsCount() (after init) reports what was granted.
 * - The kernels below run part of their work in JS on the calling thread; only their XNNPACK calls can use the pool.
 */

const BACKEND = 'wasm';
const OURS = Symbol.for('browsertrain.wasmTrainingKernel');

function wasmKernel(tf, name) {
  return tf.getKernel(name, BACKEND).kernelFunc;
}

/**
 * Spreads dy [B, OH, OW, C] into a zeroed [B, Hp, Wp, C] buffer at (top + oy*sh, left + ox*sw): the stride-dilated,
 * padded gradient that a stride-1 'valid' correlation with the flipped filter turns into the input gradient.
 */
function spreadGradient(backend, dy, sh, sw, top, left, Hp, Wp) {
  const [B, OH, OW, C] = dy.shape;
  const out = backend.makeOutput([B, Hp, Wp, C], 'float32');
  const dst = backend.typedArrayFromHeap(out);
  const src = backend.typedArrayFromHeap(dy);
  dst.fill(0);
  const oxMin = Math.max(0, Math.ceil(-left / sw));
  const oxMax = Math.min(OW, Math.ceil((Wp - left) / sw));
  if (oxMin >= oxMax) return out;
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const py = top + oy * sh;
      if (py < 0 || py >= Hp) continue;
      let s = ((b * OH + oy) * OW + oxMin) * C;
      let d = ((b * Hp + py) * Wp + left + oxMin * sw) * C;
      if (sw === 1) {
        dst.set(src.subarray(s, s + (oxMax - oxMin) * C), d);
        continue;
      }
      const skip = (sw - 1) * C;
      for (let ox = oxMin; ox < oxMax; ox++, d += skip) {
        for (let c = 0; c < C; c++) dst[d++] = src[s++];
      }
    }
  }
  return out;
}

/** The input gradient of a stride-s conv is a stride-1 'valid' conv of the spread dy; these are its geometry. */
function backpropInputGeometry(info) {
  const { inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, strideHeight: sh, strideWidth: sw } = info;
  const extentH = (info.filterHeight - 1) * info.dilationHeight + 1;
  const extentW = (info.filterWidth - 1) * info.dilationWidth + 1;
  const top = extentH - 1 - info.padInfo.top;
  const left = extentW - 1 - info.padInfo.left;
  const Hp = H + extentH - 1;
  const Wp = W + extentW - 1;
  const spreadNeeded = !(sh === 1 && sw === 1 && top === 0 && left === 0 && Hp === OH && Wp === OW);
  return { top, left, Hp, Wp, spreadNeeded };
}

function conv2DBackpropInput(tf, stock, args) {
  const { inputs, backend, attrs } = args;
  const { dy, filter } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  if (tf.backend_util.convertConv2DDataFormat(dataFormat) !== 'channelsLast') return stock(args);
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, strides, 1, pad, dimRoundingMode, false,
    'channelsLast');
  if (info.strideHeight * info.strideWidth > 1) return stridedBackpropInput(tf, backend, dy, filter, info);
  const { filterHeight: KH, filterWidth: KW, inChannels: CI, outChannels: CO } = info;
  const g = backpropInputGeometry(info);
  const src = g.spreadNeeded
    ? spreadGradient(backend, dy, info.strideHeight, info.strideWidth, g.top, g.left, g.Hp, g.Wp) : dy;
  // Rotate the filter 180° and swap its in/out channels: [KH, KW, CI, CO] -> [KH, KW, CO, CI].
  const rotated = backend.makeOutput([KH, KW, CO, CI], 'float32');
  const r = backend.typedArrayFromHeap(rotated);
  const w = backend.typedArrayFromHeap(filter);
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const wBase = ((KH - 1 - kh) * KW + (KW - 1 - kw)) * CI * CO;
      let o = (kh * KW + kw) * CO * CI;
      for (let co = 0; co < CO; co++) {
        for (let ci = 0; ci < CI; ci++) r[o++] = w[wBase + ci * CO + co];
      }
    }
  }
  const out = wasmKernel(tf, 'Conv2D')({ inputs: { x: src, filter: rotated }, backend,
    attrs: { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined } });
  backend.disposeData(rotated.dataId);
  if (src !== dy) backend.disposeData(src.dataId);
  return out;
}

/**
 * The input gradient of a strided conv as a product then a scatter-add (col2im): cols = dy [N, CO] @ Wᵀ [CO, KH·KW·CI]
 * gives each dy pixel's contribution to its KH×KW input taps, which are then summed into dx. This takes 1/(sh·sw) of
 * the multiply-adds of the spread-and-correlate path, whose correlation mostly multiplies the zeros the spread put
 * between dy's pixels (the stem's 3×3 stride-2 conv spent a third of a training step there).
 */
function stridedBackpropInput(tf, backend, dy, filter, info) {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW, outChannels: CO,
    filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top, pl = info.padInfo.left;
  const R = KH * KW * CI;
  // The filter [KH, KW, CI, CO] is the matrix [R, CO]; BatchMatMul reaches XNNPACK only untransposed, so transpose here.
  const filterT = backend.makeOutput([1, CO, R], 'float32');
  const t = backend.typedArrayFromHeap(filterT);
  const w = backend.typedArrayFromHeap(filter);
  for (let r = 0; r < R; r++) {
    for (let co = 0; co < CO; co++) t[co * R + r] = w[r * CO + co];
  }
  const dyMatrix = { dataId: dy.dataId, shape: [1, B * OH * OW, CO], dtype: dy.dtype };
  const cols = wasmKernel(tf, 'BatchMatMul')({ inputs: { a: dyMatrix, b: filterT }, backend,
    attrs: { transposeA: false, transposeB: false } });
  backend.disposeData(filterT.dataId);
  const out = backend.makeOutput([B, H, W, CI], 'float32');
  const dx = backend.typedArrayFromHeap(out);   // read after the last allocation: a heap growth detaches old views
  const cv = backend.typedArrayFromHeap(cols);
  dx.fill(0);
  const rowTaps = KW * CI;
  let c = 0;
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        for (let kh = 0; kh < KH; kh++) {
          const iy = oy * sh + kh - pt;
          if (iy < 0 || iy >= H) {
            c += rowTaps;
            continue;
          }
          for (let kw = 0; kw < KW; kw++) {
            const ix = ox * sw + kw - pl;
            if (ix < 0 || ix >= W) {
              c += CI;
              continue;
            }
            for (let ci = 0, d = ((b * H + iy) * W + ix) * CI; ci < CI; ci++) dx[d + ci] += cv[c++];
          }
        }
      }
    }
  }
  backend.disposeData(cols.dataId);
  return out;
}

/**
 * Writes the transposed im2col of x: cols[(kh*KW + kw)*CI + ci][n] = x at output pixel n's tap (kh, kw), channel ci
 * (zero where the tap falls in the padding). Rows are written contiguously; a pointwise conv is a plain transpose.
 */
function gatherColumnsTransposed(cols, xv, info) {
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: CI, outHeight: OH, outWidth: OW,
    filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw, dilationHeight: dh,
    dilationWidth: dw } = info;
  const pt = info.padInfo.top, pl = info.padInfo.left;
  const N = B * OH * OW;
  if (KH === 1 && KW === 1 && sh === 1 && sw === 1 && pt === 0 && pl === 0 && OH === H && OW === W) {
    for (let ci = 0, o = 0; ci < CI; ci++) {
      for (let n = 0, src = ci; n < N; n++, src += CI) cols[o++] = xv[src];
    }
    return;
  }
  const step = sw * CI;
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const shift = kw * dw - pl;
      const oxMin = Math.min(OW, Math.max(0, Math.ceil(-shift / sw)));
      const oxMax = Math.max(oxMin, Math.min(OW, Math.ceil((W - shift) / sw)));
      for (let ci = 0; ci < CI; ci++) {
        let o = ((kh * KW + kw) * CI + ci) * N;
        for (let b = 0; b < B; b++) {
          for (let oy = 0; oy < OH; oy++, o += OW) {
            const iy = oy * sh + kh * dh - pt;
            if (iy < 0 || iy >= H) {
              cols.fill(0, o, o + OW);
              continue;
            }
            // fill() only where there is padding: a call per row, even an empty one, cost more than the copy itself.
            if (oxMin > 0) cols.fill(0, o, o + oxMin);
            let src = ((b * H + iy) * W + oxMin * sw + shift) * CI + ci;
            for (let ox = oxMin; ox < oxMax; ox++, src += step) cols[o + ox] = xv[src];
            if (oxMax < OW) cols.fill(0, o + oxMax, o + OW);
          }
        }
      }
    }
  }
}

function conv2DBackpropFilter(tf, { inputs, backend, attrs }) {
  const { x, dy } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (tf.backend_util.convertConv2DDataFormat(dataFormat) !== 'channelsLast') {
    const transpose = wasmKernel(tf, 'Transpose');
    const xT = transpose({ inputs: { x }, backend, attrs: { perm: [0, 2, 3, 1] } });
    const dyT = transpose({ inputs: { x: dy }, backend, attrs: { perm: [0, 2, 3, 1] } });
    const out = conv2DBackpropFilter(tf, { inputs: { x: xT, dy: dyT }, backend,
      attrs: { strides, pad, dataFormat: 'NHWC', dimRoundingMode, filterShape } });
    backend.disposeData(xT.dataId);
    backend.disposeData(dyT.dataId);
    return out;
  }
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, 1, pad, dimRoundingMode, false,
    'channelsLast');
  const N = info.batchSize * info.outHeight * info.outWidth;
  const R = info.filterHeight * info.filterWidth * info.inChannels;
  // dW = colsT [R, N] @ dy [N, CO]. The wasm BatchMatMul reaches XNNPACK only untransposed (its transposeA path is a
  // scalar loop, several times slower), so the transpose is folded into the gather. XNNPACK repacks dy (~2.5 ns per
  // value) because it treats the right operand as weights; packing the smaller operand instead would save little.
  const colsT = backend.makeOutput([1, R, N], 'float32');
  gatherColumnsTransposed(backend.typedArrayFromHeap(colsT), backend.typedArrayFromHeap(x), info);
  const dyMatrix = { dataId: dy.dataId, shape: [1, N, info.outChannels], dtype: dy.dtype };
  const out = wasmKernel(tf, 'BatchMatMul')({ inputs: { a: colsT, b: dyMatrix }, backend,
    attrs: { transposeA: false, transposeB: false } });
  backend.disposeData(colsT.dataId);
  out.shape = filterShape.slice();
  return out;
}

function depthwiseInfo(tf, xShape, filterShape, attrs) {
  const { strides, pad, dimRoundingMode, dilations } = attrs;
  return tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, dilations == null ? 1 : dilations, pad,
    dimRoundingMode, true);
}

function depthwiseBackpropInput(tf, { inputs, backend, attrs }) {
  const { dy, filter } = inputs;
  const info = depthwiseInfo(tf, attrs.inputShape, filter.shape, attrs);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outChannels: CM, filterHeight: KH,
    filterWidth: KW } = info;
  const M = CM / C;
  const g = backpropInputGeometry(info);
  const src = g.spreadNeeded
    ? spreadGradient(backend, dy, info.strideHeight, info.strideWidth, g.top, g.left, g.Hp, g.Wp) : dy;
  // Each of the C*M gradient channels is correlated with its own filter tap set, rotated 180°.
  const flipped = backend.makeOutput([KH, KW, CM, 1], 'float32');
  const f = backend.typedArrayFromHeap(flipped);
  const w = backend.typedArrayFromHeap(filter);
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const from = ((KH - 1 - kh) * KW + (KW - 1 - kw)) * CM;
      f.set(w.subarray(from, from + CM), (kh * KW + kw) * CM);
    }
  }
  const perChannel = wasmKernel(tf, 'DepthwiseConv2dNative')({ inputs: { x: src, filter: flipped }, backend, attrs: {
    strides: 1, pad: 'valid', dilations: [info.dilationHeight, info.dilationWidth], dimRoundingMode: undefined } });
  backend.disposeData(flipped.dataId);
  if (src !== dy) backend.disposeData(src.dataId);
  if (M === 1) return perChannel;
  const out = wasmKernel(tf, 'Sum')({ inputs: { x: { dataId: perChannel.dataId, shape: [B, H, W, C, M],
    dtype: 'float32' } }, backend, attrs: { axis: 4, keepDims: false } });
  backend.disposeData(perChannel.dataId);
  return out;
}

/** A tensor registered over part of another's wasm memory: lets the backend's kernels read shifted windows uncopied. */
function aliasOf(backend, base, elementOffset, shape) {
  const { memoryOffset } = backend.dataIdMap.get(base.dataId);
  return backend.makeOutput(shape, 'float32', memoryOffset + elementOffset * Float32Array.BYTES_PER_ELEMENT);
}

/** Forgets an alias without freeing the memory it borrows (disposeData would free its base's interior). */
function releaseAlias(backend, alias) {
  backend.wasm.tfjs.disposeData(backend.dataIdMap.get(alias.dataId).id);
  backend.dataIdMap.delete(alias.dataId);
}

/**
 * Copies one row of x into a phase-plane row: out[j] = x[j*sw + firstCol] for j < Wq (zeros outside x), each of the
 * C channels repeated M times so that the plane lines up with the C*M gradient channels.
 */
function gatherPlaneRow(out, o, xv, rowStart, W, C, M, Wq, sw, firstCol) {
  const CM = C * M;
  const jMin = Math.min(Wq, Math.max(0, Math.ceil(-firstCol / sw)));
  const jMax = Math.max(jMin, Math.min(Wq, Math.ceil((W - firstCol) / sw)));
  if (jMin > 0) out.fill(0, o, o + jMin * CM);   // only where there is padding (see gatherColumnsTransposed)
  o += jMin * CM;
  let s = rowStart + (jMin * sw + firstCol) * C;
  if (M === 1 && sw === 1) {
    const n = (jMax - jMin) * C;
    out.set(xv.subarray(s, s + n), o);
    o += n;
  } else if (M === 1) {
    const skip = (sw - 1) * C;
    for (let j = jMin; j < jMax; j++, s += skip) {
      for (let c = 0; c < C; c++) out[o++] = xv[s++];
    }
  } else {
    for (let j = jMin; j < jMax; j++, s += sw * C) {
      for (let c = 0; c < C; c++) {
        const v = xv[s + c];
        for (let m = 0; m < M; m++) out[o++] = v;
      }
    }
  }
  if (jMax < Wq) out.fill(0, o, o + (Wq - jMax) * CM);
}

/**
 * dW[kh, kw, c, m] = sum over b, oy, ox of x[b, oy*sh + kh*dh - pt, ox*sw + kw*dw - pl, c] * dy[b, oy, ox, c*M + m].
 * x is split into stride phases, zero-padded planes [B, Hq, Wq, C*M] in which every tap is one flat shift, and dy is
 * zero-padded to the same [B, Hq, Wq, C*M]; then each tap is a Multiply of two equally long flat windows followed by
 * an AvgPool over all pixels: both run in XNNPACK with SIMD, several times faster than the same sums in a JS loop.
 * (x must be finite: padding positions multiply x by zero, and Inf * 0 would put a NaN where cpu has none.)
 */
function depthwiseBackpropFilter(tf, { inputs, backend, attrs }) {
  const { x, dy } = inputs;
  const info = depthwiseInfo(tf, x.shape, attrs.filterShape, attrs);
  const { batchSize: B, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW, outChannels: CM,
    filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw, dilationHeight: dh,
    dilationWidth: dw } = info;
  const M = CM / C;
  const pt = info.padInfo.top, pl = info.padInfo.left;
  const Hq = OH + Math.floor((KH - 1) * dh / sh);
  const Wq = OW + Math.floor((KW - 1) * dw / sw);
  const planePixels = B * Hq * Wq, planeLen = planePixels * CM, rowLen = Wq * CM;
  const phaseIndex = new Map();
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const key = ((kh * dh) % sh) * sw + (kw * dw) % sw;
      if (!phaseIndex.has(key)) phaseIndex.set(key, phaseIndex.size);
    }
  }
  const planes = backend.makeOutput([phaseIndex.size * planeLen], 'float32');
  const padded = backend.makeOutput([planeLen], 'float32');
  const pv = backend.typedArrayFromHeap(planes);
  const xv = backend.typedArrayFromHeap(x);
  for (const [key, k] of phaseIndex) {
    const py = Math.floor(key / sw), px = key % sw;
    let o = k * planeLen;
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < Hq; i++, o += rowLen) {
        const iy = i * sh + py - pt;
        if (iy < 0 || iy >= H) pv.fill(0, o, o + rowLen);
        else gatherPlaneRow(pv, o, xv, (b * H + iy) * W * C, W, C, M, Wq, sw, px - pl);
      }
    }
  }
  const dv = backend.typedArrayFromHeap(padded);
  const dyv = backend.typedArrayFromHeap(dy);
  dv.fill(0);
  for (let b = 0; b < B; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const s = (b * OH + oy) * OW * CM;
      dv.set(dyv.subarray(s, s + OW * CM), (b * Hq + oy) * rowLen);
    }
  }
  const multiply = wasmKernel(tf, 'Multiply'), avgPool = wasmKernel(tf, 'AvgPool');
  const sums = new Float64Array(KH * KW * CM);
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const k = phaseIndex.get(((kh * dh) % sh) * sw + (kw * dw) % sw);
      const shift = Math.floor(kh * dh / sh) * Wq + Math.floor(kw * dw / sw);
      // Pixels past the shifted window's end only meet dy's zero padding, so dropping them loses nothing.
      const count = planePixels - shift;
      const a = aliasOf(backend, planes, k * planeLen + shift * CM, [1, count, 1, CM]);
      const b = aliasOf(backend, padded, 0, [1, count, 1, CM]);
      const product = multiply({ inputs: { a, b }, backend });
      releaseAlias(backend, a);
      releaseAlias(backend, b);
      const mean = avgPool({ inputs: { x: product }, backend,
        attrs: { filterSize: [count, 1], strides: 1, pad: 'valid', dimRoundingMode: undefined } });
      backend.disposeData(product.dataId);
      const mv = backend.typedArrayFromHeap(mean);
      for (let j = 0, t = (kh * KW + kw) * CM; j < CM; j++) sums[t + j] = mv[j] * count;
      backend.disposeData(mean.dataId);
    }
  }
  backend.disposeData(planes.dataId);
  backend.disposeData(padded.dataId);
  const out = backend.makeOutput(attrs.filterShape.slice(), 'float32');
  backend.typedArrayFromHeap(out).set(sums);
  return out;
}

const MISSING = {
  Conv2DBackpropFilter: conv2DBackpropFilter,
  DepthwiseConv2dNativeBackpropFilter: depthwiseBackpropFilter,
  DepthwiseConv2dNativeBackpropInput: depthwiseBackpropInput,
};

/**
 * Registers, for the 'wasm' backend, the gradient kernels training needs and tfjs 4.22 lacks, and replaces its slow
 * Conv2DBackpropInput (a scalar loop, ~10x slower than its Conv2D) for NHWC. Takes the tf namespace (the pages' UMD
 * global or the npm import). Safe to call again; returns the kernel names it (re)registered this call.
 */
export function registerWasmTrainingKernels(tf) {
  if (tf.getKernel('Conv2D', BACKEND) == null) {
    throw new Error('The tfjs wasm backend is not loaded: load tf-backend-wasm before registering training kernels');
  }
  const registered = [];
  const register = (kernelName, kernelFunc, setupFunc) => {
    kernelFunc[OURS] = true;
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc, setupFunc });
    registered.push(kernelName);
  };
  for (const [kernelName, impl] of Object.entries(MISSING)) {
    if (tf.getKernel(kernelName, BACKEND) != null) continue;
    register(kernelName, (args) => impl(tf, args));
  }
  const stock = tf.getKernel('Conv2DBackpropInput', BACKEND);
  if (stock != null && !stock.kernelFunc[OURS]) {
    tf.unregisterKernel('Conv2DBackpropInput', BACKEND);
    // The stock setupFunc still binds the stock kernel, which NCHW inputs fall back to.
    register('Conv2DBackpropInput', (args) => conv2DBackpropInput(tf, stock.kernelFunc, args), stock.setupFunc);
  }
  return registered;
}

/**
 * Configures and starts the wasm backend for training: wasm file location and thread count (both only take effect
 * before the backend's first initialisation), our training kernels, then tf.setBackend('wasm').
 * `wasm` is the backend's namespace: the pages' `tf.wasm` (UMD bundle) by default, or the npm module's exports in Node
 * (where no wasmPaths are needed: the node build finds its .wasm files beside itself).
 * Resolves to { ok, threads, simd, multithread, crossOriginIsolated, alreadyInitialised }.
 */
export async function configureWasm(tf, { wasmPaths, threads, wasm = tf.wasm } = {}) {
  if (wasm == null) throw new Error('The tfjs wasm backend is not loaded: load tf-backend-wasm first');
  // Reading the registry directly: tf.findBackend() would start initialising the backend.
  const alreadyInitialised = tf.engine().registry.wasm != null;
  if (!alreadyInitialised) {
    if (wasmPaths != null) wasm.setWasmPaths(wasmPaths);
    if (threads != null) wasm.setThreadsCount(threads);
  }
  registerWasmTrainingKernels(tf);
  const ok = await tf.setBackend('wasm');
  await tf.ready();
  return {
    ok,
    threads: ok ? wasm.getThreadsCount() : 0,
    simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
    multithread: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    alreadyInitialised,
  };
}
