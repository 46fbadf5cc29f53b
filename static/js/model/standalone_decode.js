/**
 * Decoders that stand alone: the export page pastes their source text (Function.prototype.toString) into its
 * snippets, so they use nothing but each other (toImagePixels) — no imports, no module constants. Node tests hold
 * them to the task code that trained and evaluated the model (tasks/yolo_decode.js, data/geometry.js).
 *
 * Both take `meta` = metadata.json's `task_metadata` (also model.getUserDefinedMetadata().task_metadata), one
 * image's raw outputs `values` (a flat array) and that image's width and height, and answer in its pixels.
 */

/** Shares of the input → the image's pixels, by the run's resize: stretch scales each axis, letterbox one scale and
 * centring bars. Returns (x, y) → [x, y] for points; sizes only scale. */
export function toImagePixels(meta, width, height) {
  const size = meta.input_size;
  const letterbox = meta.resize?.mode === 'letterbox';
  const scaleX = letterbox ? Math.min(size / width, size / height) : size / width;
  const scaleY = letterbox ? scaleX : size / height;
  const padX = (size - width * scaleX) / 2;
  const padY = (size - height * scaleY) / 2;
  return { point: (x, y) => [(x * size - padX) / scaleX, (y * size - padY) / scaleY], size: (w, h) => [(w * size) / scaleX, (h * size) / scaleY] };
}

/**
 * A detection model's output for one image ([S, S, A·(5+C)] flattened) → [{label, score, x, y, w, h}], best
 * first: per cell and anchor, x, y = (cell + sigmoid) / S, w, h = anchor · exp, score = sigmoid(objectness) ·
 * softmax(class); boxes under the score threshold or the minimum size dropped, then per-class non-maximum
 * suppression; finally input shares → the image's pixels through the run's resize (stretch or letterbox).
 */
export function decodeBoxes(values, meta, width, height) {
  const { anchors, classes, grid_size: S, input_size: size } = meta;
  const sigmoid = (v) => 1 / (1 + Math.exp(-v));
  const stride = 5 + classes.length;
  const byClass = classes.map(() => []);
  for (let cell = 0; cell < S * S; cell++) {
    for (let a = 0; a < anchors.length; a++) {
      const at = (cell * anchors.length + a) * stride;
      const objectness = sigmoid(values[at + 4]);
      if (objectness < meta.score_threshold) continue;
      const cx = ((cell % S) + sigmoid(values[at])) / S;
      const cy = (Math.floor(cell / S) + sigmoid(values[at + 1])) / S;
      const w = anchors[a][0] * Math.exp(values[at + 2]);
      const h = anchors[a][1] * Math.exp(values[at + 3]);
      const x0 = Math.max(0, cx - w / 2);
      const y0 = Math.max(0, cy - h / 2);
      const box = { x: x0, y: y0, w: Math.min(1, cx + w / 2) - x0, h: Math.min(1, cy + h / 2) - y0 };
      if (!(box.w >= meta.min_box_pixels / size && box.h >= meta.min_box_pixels / size)) continue;
      const logits = Array.from(values.slice(at + 5, at + stride));
      const top = Math.max(...logits);
      const exps = logits.map((v) => Math.exp(v - top));
      const total = exps.reduce((p, q) => p + q, 0);
      exps.forEach((e, c) => {
        const score = (objectness * e) / total;
        if (score >= meta.score_threshold) byClass[c].push({ classIndex: c, score, box });
      });
    }
  }
  const iou = (p, q) => {
    const w = Math.min(p.x + p.w, q.x + q.w) - Math.max(p.x, q.x);
    const h = Math.min(p.y + p.h, q.y + q.h) - Math.max(p.y, q.y);
    return w > 0 && h > 0 ? (w * h) / (p.w * p.h + q.w * q.h - w * h) : 0;
  };
  const kept = byClass.flatMap((found) => {
    const keep = [];
    for (const d of [...found].sort((p, q) => q.score - p.score)) {
      if (keep.every((k) => iou(k.box, d.box) <= meta.iou_threshold)) keep.push(d);
    }
    return keep;
  }).sort((p, q) => q.score - p.score).slice(0, 100);
  const pixels = toImagePixels(meta, width, height);
  return kept.map(({ classIndex, score, box }) => {
    const [x, y] = pixels.point(box.x, box.y);
    const [w, h] = pixels.size(box.w, box.h);
    return { label: classes[classIndex], score, x, y, w, h };
  });
}

/** A landmarks model's output for one image (x1, y1, x2, y2, ... in [0, 1] of the input) → [{name, x, y}] pixels. */
export function decodePoints(values, meta, width, height) {
  const pixels = toImagePixels(meta, width, height);
  return meta.point_names.map((name, k) => {
    const [x, y] = pixels.point(values[2 * k], values[2 * k + 1]);
    return { name, x, y };
  });
}
