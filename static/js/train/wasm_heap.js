/** Shared by the wasm training kernels: the backend's own kernels, and typed views and aliases on its heap. */

export const BACKEND = 'wasm';

export function wasmKernel(tf, name) {
  return tf.getKernel(name, BACKEND).kernelFunc;
}

/**
 * Spreads dy [B, OH, OW, C] into a zeroed [B, Hp, Wp, C] buffer at (top + oy*sh, left + ox*sw): the stride-dilated,
 * padded gradient that a stride-1 'valid' correlation with the flipped filter turns into the input gradient.
 */
export function spreadGradient(backend, dy, sh, sw, top, left, Hp, Wp) {
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
export function backpropInputGeometry(info) {
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

/** A tensor registered over part of another's wasm memory: lets the backend's kernels read shifted windows uncopied. */
export function aliasOf(backend, base, elementOffset, shape) {
  const { memoryOffset } = backend.dataIdMap.get(base.dataId);
  return backend.makeOutput(shape, 'float32', memoryOffset + elementOffset * Float32Array.BYTES_PER_ELEMENT);
}

/** Forgets an alias without freeing the memory it borrows (disposeData would free its base's interior). */
export function releaseAlias(backend, alias) {
  backend.wasm.tfjs.disposeData(backend.dataIdMap.get(alias.dataId).id);
  backend.dataIdMap.delete(alias.dataId);
}
