/**
 * A trained run's task, rebuilt from what the run recorded (`run.info.task_metadata`, docs/tasks.md) rather than from
 * its dataset: the run's own anchors, grid, thresholds and point names, so a prediction is decoded exactly as the run's
 * evaluation decoded it, even once the dataset has changed. Used by "Try it" and by the export gate (Node).
 */
import { getTask } from './tasks.js';

/** The tasks whose outputs need the metadata to be read (a classifier's outputs are its class probabilities). */
export const DECODED_TASKS = Object.freeze(['detection', 'landmarks']);

/** task_metadata → the prepared task (detection: the given anchors, so no k-means; landmarks: the point names). */
export function taskFromMetadata(meta) {
  if (!meta || !DECODED_TASKS.includes(meta.task)) {
    throw new Error(`no decodable task in this metadata (task ${meta?.task ?? 'missing'}; expected ${DECODED_TASKS.join(' or ')})`);
  }
  if (meta.task === 'detection') {
    return getTask('detection').prepare({ classes: meta.classes }, {
      anchors: meta.anchors, gridSize: meta.grid_size, inputSize: meta.input_size,
      scoreThreshold: meta.score_threshold, iouThreshold: meta.iou_threshold,
    });
  }
  return getTask('landmarks').prepare({ pointNames: meta.point_names }, { loss: meta.loss, inputSize: meta.input_size });
}

/** The run's resize mode ('stretch' unless the metadata says 'letterbox'). */
export const resizeModeOf = (meta) => meta?.resize?.mode ?? 'stretch';
