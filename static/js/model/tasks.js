/**
 * The task registry. A task says what the network's head outputs, how labels become targets, the loss, the
 * metrics and the decoding; each lives in tasks/<name>.js. Every task has:
 *   name, spatialHead (true: the head takes the last feature map [S, S, F], not the pooled vector),
 *   head(x, modelConfig, weightInit), and prepare(dataset, options) → the task ready for one dataset and model
 *   (anchors learnt, classes or point names fixed). A prepared task adds encodeLabels(labels), loss(yTrue, yPred,
 *   weights) and metrics(...) (scalar tensors, padding rows weighted 0), decode(yPred) (async) and metadata()
 *   (for an export). Classification needs nothing from the dataset: it is its own prepared form and keeps its
 *   encodeLabels(labels, classes).
 */
import { classification } from './tasks/classification.js';
import { detection } from './tasks/detection.js';
import { landmarks } from './tasks/landmarks.js';

export { weightedMean } from './tasks/batch_mean.js';
export { classification, detection, landmarks };

const TASKS = new Map([classification, landmarks, detection].map((task) => [task.name, task]));

/** The task called `name` (unprepared: call its prepare for one dataset). */
export function getTask(name) {
  const task = TASKS.get(name);
  if (!task) throw new Error(`unknown task '${name}' (known: ${[...TASKS.keys()].join(', ')})`);
  return task;
}
