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
// @ts-check
import { classification } from './tasks/classification.js';
import { detection } from './tasks/detection.js';
import { landmarks } from './tasks/landmarks.js';

export { weightedMean } from './tasks/batch_mean.js';
export { classification, detection, landmarks };

/**
 * A task, as getTask hands it out. Tensors are typed loosely (tfjs is a UMD global in the pages); every tensor
 * returned is new, and the caller disposes it.
 * @typedef {object} Task
 * @property {string} name  the name run configs use (`config.task`)
 * @property {boolean} spatialHead  true: the head takes the last feature map [S, S, F], not the pooled vector
 * @property {(x: any, config: any, weightInit?: WeightInit) => any} head
 *   appends the head to the symbolic features `x` and returns the symbolic output
 * @property {(dataset: any, options?: any) => PreparedTask} prepare  the task ready for one dataset and model
 *
 * The task prepared for one dataset (classification is its own prepared form): what training and evaluation call.
 * @typedef {object} PreparedTask
 * @property {string} name
 * @property {(labels: any[], classes?: string[]) => any} encodeLabels  the targets ([n, ...] float32)
 * @property {(yTrue: any, yPred: any, weights?: any) => any} loss  a scalar: the weighted mean over rows
 * @property {(yTrue: any, yPred: any, weights?: any) => Record<string, any>} metrics  scalars by name
 * @property {(yPred: any, ...rest: any[]) => Promise<any[]>} decode  one prediction per row
 *
 * @typedef {{ kernelInitializer: string, biasInitializer: string }} WeightInit  glorot-normal weights, zero biases
 */

/** @type {Map<string, Readonly<Task>>} */
const TASKS = new Map([classification, landmarks, detection].map((task) => [task.name, task]));

/**
 * The task called `name` (unprepared: call its prepare for one dataset).
 * @param {string} name
 * @returns {Readonly<Task>}
 */
export function getTask(name) {
  const task = TASKS.get(name);
  if (!task) throw new Error(`unknown task '${name}' (known: ${[...TASKS.keys()].join(', ')})`);
  return task;
}
