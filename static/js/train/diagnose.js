/**
 * "Did this run learn?" — the signs that a run is not learning, each said plainly with a concrete next step:
 * a loss that never left its start, validation accuracy at chance, one class predicted for everything, overfitting.
 */

/** A loss still within this share of its first epoch's value has not moved. */
export const FLAT_LOSS_SHARE = 0.97;
/**
 * A loss below this share of ln K (what a uniform guess over K classes scores) has learned something, even if it
 * no longer moves: a run continued from a trained one ("train more") starts low and may stay there.
 */
export const LEARNED_LOSS_SHARE = 0.5;
/** Mid-run checks wait this many epochs, or this share of the planned ones, whichever is more. */
export const MIN_CHECK_EPOCHS = 5;
export const CHECK_AFTER_SHARE = 0.25;
/** Validation accuracy within this many points of chance (the largest class's share) is "at chance". */
export const CHANCE_MARGIN = 0.1;
/** This share of all validation predictions on one class means the model predicts one class for everything. */
export const ONE_CLASS_SHARE = 0.95;
/** Train accuracy this far above validation accuracy (with train accuracy at least OVERFIT_TRAIN_ACCURACY) is overfitting. */
export const OVERFIT_GAP = 0.25;
export const OVERFIT_TRAIN_ACCURACY = 0.9;

const fmt = (value, digits = 3) => (value === null || value === undefined ? 'n/a' : Number(value).toFixed(digits));

/**
 * numClasses null: a task without a uniform-guess loss (detection, landmarks), judged by the fall alone. An epoch
 * resumed mid-way (resumed_at_step) averages only its later steps, so it is no baseline while whole epochs follow.
 */
function flatLoss(allRecords, numClasses) {
  const whole = allRecords.filter((r) => !r.resumed_at_step);
  const records = (whole.length >= 2 ? whole : allRecords).filter((r) => Number.isFinite(r.train_loss));
  const losses = records.map((r) => r.train_loss);
  if (losses.length < 2) return null;
  const [first, last] = [losses[0], losses.at(-1)];
  if (Math.min(...losses.slice(1)) < first * FLAT_LOSS_SHARE) return null;
  if (numClasses !== null && last < LEARNED_LOSS_SHARE * Math.log(Math.max(2, numClasses))) return null;
  const uniform = numClasses === null ? ''
    : ` (ln ${numClasses} = ${fmt(Math.log(numClasses), 4)} is what a uniform guess scores)`;
  return {
    code: 'loss_flat',
    message: `the training loss never left its starting value: ${fmt(first, 4)} at epoch ${(records[0].epoch ?? 0) + 1}, `
      + `${fmt(last, 4)} after ${losses.length} epochs${uniform}`,
    next_step: 'check the inputs and labels first (Preview inputs; the overfit check: --overfit 16), then try a '
      + 'higher learning rate (--lr 0.003) or a smaller batch size',
  };
}

/** Chance: the share of the largest class in validation (always guessing it scores that), else 1/K. */
function chanceLevel(evaluation, numClasses) {
  const rows = evaluation?.confusion;
  if (!rows?.length) return 1 / numClasses;
  const totals = rows.map((row) => row.reduce((a, b) => a + b, 0));
  const all = totals.reduce((a, b) => a + b, 0);
  return all ? Math.max(...totals) / all : 1 / numClasses;
}

function atChance(records, evaluation, numClasses) {
  const accuracy = evaluation?.accuracy ?? records.at(-1)?.val_accuracy;
  if (!Number.isFinite(accuracy)) return null;
  const chance = chanceLevel(evaluation, numClasses);
  if (accuracy > chance + CHANCE_MARGIN) return null;
  return {
    code: 'val_at_chance',
    message: `validation accuracy ${fmt(accuracy)} is at or near chance (${fmt(chance)}: always guessing the largest class)`,
    next_step: 'the model has not learned anything that carries over to new images: run the overfit check '
      + '(--overfit 16) to tell a data problem from a training one, and look at the evaluation\'s confusion matrix',
  };
}

function oneClass(evaluation, classes) {
  const rows = evaluation?.confusion;
  if (!rows?.length || classes.length < 2) return null;
  const predicted = rows[0].map((_, column) => rows.reduce((sum, row) => sum + row[column], 0));
  const all = predicted.reduce((a, b) => a + b, 0);
  const top = predicted.indexOf(Math.max(...predicted));
  if (!all || predicted[top] / all < ONE_CLASS_SHARE) return null;
  return {
    code: 'one_class',
    message: `the model predicts '${classes[top]}' for ${predicted[top]} of ${all} validation images`,
    next_step: 'it has collapsed onto one class: check that every class has enough images (and balance them), '
      + 'then train longer or with a higher learning rate',
  };
}

function overfitting(records) {
  const last = records.at(-1);
  const [train, val] = [last?.train_accuracy, last?.val_accuracy];
  if (!(Number.isFinite(train) && Number.isFinite(val))) return null;
  if (!(train >= OVERFIT_TRAIN_ACCURACY && train - val >= OVERFIT_GAP)) return null;
  return {
    code: 'overfitting',
    message: `train accuracy ${fmt(train)} against validation ${fmt(val)}: the model memorises its training images`,
    next_step: 'turn augmentation on (--augment on), add images, train fewer epochs, or use a smaller model',
  };
}

/** Below this mAP@0.5 a detector finds (almost) nothing it should. */
export const MIN_USEFUL_MAP50 = 0.1;
/** Above this NME the points are no better than a mean face would place them (about 0.15–0.25 on faces). */
export const MAX_USEFUL_NME = 0.2;

/** Detection and landmarks: the evaluation says plainly when the model did not learn its task. */
function taskVerdict(evaluation) {
  if (evaluation?.task === 'detection' && Number.isFinite(evaluation.map50) && evaluation.map50 < MIN_USEFUL_MAP50) {
    return {
      code: 'no_detections',
      message: `mAP@0.5 is ${fmt(evaluation.map50)} on the validation images: the detector finds almost none of the boxes`,
      next_step: 'check the boxes in Preview inputs, then train longer (--epochs) or with a larger input size (--input-size)',
    };
  }
  if (evaluation?.task === 'landmarks' && Number.isFinite(evaluation.nme) && evaluation.nme > MAX_USEFUL_NME) {
    return {
      code: 'points_off',
      message: `NME is ${fmt(evaluation.nme)} on the validation images: the points are about where an average shape puts them`,
      next_step: 'check the points in Preview inputs, then train longer (--epochs) or try --landmark-loss wing',
    };
  }
  return null;
}

/** The epochs after which mid-run checks start, for a run of `plannedEpochs`. */
export const checkAfter = (plannedEpochs) => Math.max(MIN_CHECK_EPOCHS, Math.ceil(plannedEpochs * CHECK_AFTER_SHARE));

/**
 * The warnings for a run's epoch records so far, [{code, message, next_step}]. Mid-run (no `evaluation`) only
 * after checkAfter(plannedEpochs) epochs, and without the one-class check, which needs the predictions.
 */
export function learningWarnings({ records, classes, plannedEpochs, evaluation = null, task = 'classification' }) {
  if (!evaluation && records.length < checkAfter(plannedEpochs)) return [];
  if (task !== 'classification') return [flatLoss(records, null), taskVerdict(evaluation)].filter(Boolean);
  const numClasses = classes.length;
  return [flatLoss(records, numClasses), atChance(records, evaluation, numClasses), oneClass(evaluation, classes),
    overfitting(records)].filter(Boolean);
}
