/**
 * The rules the pages share with the server, from their one definition, static/shared_rules.json (the server reads
 * the same file in server/shared_rules.py). Every other module takes them from here, frozen, under its own names.
 */
import rules from '../shared_rules.json' with { type: 'json' };

const deepFreeze = (value) => {
  if (value && typeof value === 'object') Object.values(value).forEach(deepFreeze);
  return Object.freeze(value);
};
deepFreeze(rules);

/** What a run's config means when a key is missing (run-config keys, so camelCase); DEFAULT_RUN_CONFIG starts from it. */
export const RUN_DEFAULTS = rules.run_defaults.values;
/** The most images a sanity ("overfit") run takes. */
export const MAX_OVERFIT_IMAGES = rules.max_overfit_images;
export const IMAGENET_MEAN = rules.imagenet.mean;
export const IMAGENET_STD = rules.imagenet.std;
/** The export the others are compared with, and the gate's default allowed accuracy loss in points. */
export const REFERENCE_FORMAT = rules.exports.reference_format;
export const DEFAULT_MAX_ACCURACY_DROP = rules.exports.default_max_accuracy_drop;
/** The gate's bars for detection (least box agreement with float32) and landmarks (most point shift, of the diagonal). */
export const MIN_BOX_AGREEMENT = rules.exports.min_box_agreement;
export const MAX_POINT_SHIFT = rules.exports.max_point_shift;

/** Why a finished run refuses to go on, and how to train on from it (the server answers the same). */
export function finishedMessage(runId) {
  return rules.messages.run_finished.replaceAll('{run_id}', runId);
}
