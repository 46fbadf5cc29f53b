/** Axis arithmetic for the charts, without the DOM: nice linear and log ticks, and numbers people can read. */

const NICE_STEPS = [1, 2, 2.5, 5, 10];
const SI = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']];

/** A round step (1, 2, 2.5 or 5 times a power of ten) giving about `count` intervals over `span`. */
function niceStep(span, count, integer) {
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  let step = NICE_STEPS.map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  if (integer) step = Math.max(1, Math.round(step));
  return step;
}

/**
 * Linear ticks over [min, max] at a nice step: {min, max, step, ticks}. With `widen` the domain grows to whole
 * steps, so the first and last ticks are the axis ends (a y axis); without, it stays the data's and the ticks are
 * the multiples of the step inside it (an x axis of epochs starting at 1). `integer` keeps ticks whole.
 */
export function linearTicks(min, max, { count = 5, integer = false, widen = true } = {}) {
  if (!(Number.isFinite(min) && Number.isFinite(max))) throw new Error(`no ticks for [${min}, ${max}]`);
  if (min === max) {
    const pad = integer ? 1 : Math.abs(min) / 10 || 1;
    [min, max] = [min - pad, max + pad];
  }
  const step = niceStep(max - min, count, integer);
  const lo = Math.floor(min / step + 1e-9) * step;
  const hi = Math.ceil(max / step - 1e-9) * step;
  const ticks = [];
  for (let i = 0; lo + i * step <= hi + step * 1e-9; i++) ticks.push(clean(lo + i * step, step));
  if (widen) return { min: lo, max: hi, step, ticks };
  const inside = ticks.filter((t) => t >= min - step * 1e-9 && t <= max + step * 1e-9);
  return { min, max, step, ticks: inside.length ? inside : [clean(min, step), clean(max, step)] };
}

/** Removes float noise: 0.30000000000000004 at a step of 0.1 becomes 0.3. */
function clean(value, step) {
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 2);
  return Number(value.toFixed(Math.min(digits, 20)));
}

/**
 * Log ticks covering [min, max] (both > 0): whole decades, with 2 and 5 between them when the range spans fewer
 * than three decades, and every decade thinned to about `count` when it spans many. Returns {min, max, ticks}.
 */
export function logTicks(min, max, { count = 6 } = {}) {
  if (!(min > 0 && max > 0)) throw new Error(`log ticks need positive bounds, got [${min}, ${max}]`);
  let lo = Math.floor(Math.log10(min) + 1e-9);
  let hi = Math.ceil(Math.log10(max) - 1e-9);
  if (lo === hi) { lo -= 1; hi += 1; }
  const decades = hi - lo;
  const every = Math.max(1, Math.ceil(decades / count));
  const ticks = [];
  for (let k = lo; k <= hi; k++) {
    if ((k - lo) % every === 0) ticks.push(Number(`1e${k}`));
    if (decades < 3 && k < hi) ticks.push(Number(`2e${k}`), Number(`5e${k}`));
  }
  return { min: Number(`1e${lo}`), max: Number(`1e${hi}`), ticks };
}

/** A tick label at `step` spacing: as many decimals as the step needs, k/M/G for large, exponent for tiny. */
export function formatTick(value, step) {
  if (value === 0) return '0';
  const a = Math.abs(value);
  for (const [size, suffix] of SI) {
    if (a >= size && step >= size / 10) return `${trim((value / size).toFixed(decimals(step / size)))}${suffix}`;
  }
  if (a < 1e-3) return formatRate(value);
  return value.toFixed(decimals(step));
}

/** A log tick: 1e-4 as "1e-4", 0.01 and 100 as plain numbers. */
export function formatLogTick(value) {
  return value >= 1e-2 && value < 1e4 ? String(Number(value.toPrecision(3))) : formatRate(value);
}

/**
 * A value for people (hover readouts, stats): 4 significant digits, an exponent below 0.001, never "0.00000".
 * Rates are the reason: 1e-5 is "1e-5", 3e-4 is "3e-4", 0.001 stays "0.001".
 */
export function formatValue(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (value === 0) return '0';
  const a = Math.abs(value);
  if (a < 1e-3 || a >= 1e7) return formatRate(value);
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
}

/** A learning rate: shortest exact-looking form, "1e-5" rather than "0.00001" or "1.0000000000000002e-5". */
export function formatRate(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  if (value === 0) return '0';
  const a = Math.abs(value);
  if (a >= 1e-3 && a < 1e4) return String(Number(value.toPrecision(3)));
  const [mantissa, exponent] = Number(value.toPrecision(3)).toExponential().split('e');
  return `${mantissa}e${Number(exponent)}`;
}

/** The decimals a step needs to show exactly: 0.25 needs 2, 5 needs 0. */
function decimals(step) {
  for (let d = 0; d < 10; d++) {
    const scaled = step * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * scaled) return d;
  }
  return 10;
}

function trim(text) {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}
