/**
 * Items' annotations as the task sees them: from source pixels to shares of the input (through the resize
 * transform), and moved by one epoch's augmentation. Labels in this form are {width: 1, height: 1, boxes} for
 * detection and {width: 1, height: 1, points, box?} for landmarks (model/tasks/*.js encode them).
 */
import { annotationsToInput, resizeTransform } from './geometry.js';
import { augmentAnnotations } from './augment_geometry.js';

/** The form every label takes once in shares of the input: a unit "image". */
const UNIT = Object.freeze({ width: 1, height: 1 });

/** One item's annotation (source pixels) in shares of a `size`×`size` input resized by `mode`. */
export function annotationToInput(annotation, size, mode = 'stretch') {
  const transform = resizeTransform(annotation.width, annotation.height, size, mode);
  const { boxes, points } = annotationsToInput(transform, annotation);
  const out = { ...UNIT };
  if (boxes) out.boxes = boxes;
  if (points) out.points = points;
  if (annotation.box) [out.box] = annotationsToInput(transform, { boxes: [annotation.box] }).boxes;
  return out;
}

/** Every item's annotation in input shares, or null for a dataset of class labels. */
export function inputAnnotations(items, size, mode = 'stretch') {
  if (!items.some((item) => item.annotation)) return null;
  return items.map((item, i) => {
    if (!item.annotation) throw new Error(`item ${item.id ?? i} has no annotation in an annotated dataset`);
    return annotationToInput(item.annotation, size, mode);
  });
}

/**
 * An annotation in input shares after augmentParams' crop and flip (brightness moves nothing); `pairs` (mirrorPairs)
 * swaps left/right point names under a flip. A landmarks box cropped away entirely is dropped (NME then uses the
 * points' own spread).
 */
export function movedAnnotation(annotation, params, pairs) {
  const out = { ...UNIT, ...augmentAnnotations(annotation, params, pairs) };
  if (annotation.box) {
    const [box] = augmentAnnotations({ boxes: [annotation.box] }, params).boxes;
    if (box) out.box = box;
  }
  return out;
}
