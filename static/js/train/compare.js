/** Comparing runs: their configs flattened and diffed key by key, and their per-epoch curves side by side. */

/** {a: {b: 1}, c: [1, 2]} → {'a.b': 1, c: '[1,2]'}; arrays stay whole (a list of stage widths is one setting). */
export function flattenConfig(config, prefix = '') {
  const flat = {};
  for (const [key, value] of Object.entries(config ?? {})) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value && typeof value === 'object' && !Array.isArray(value)) Object.assign(flat, flattenConfig(value, name));
    else flat[name] = Array.isArray(value) ? JSON.stringify(value) : value;
  }
  return flat;
}

/**
 * One row per config key over all runs: {key, values (one per run, undefined where a run lacks the key), differs}.
 * Keys sorted, differing rows first, so the settings that explain a difference in the curves lead.
 */
export function diffConfigs(configs) {
  const flats = configs.map((config) => flattenConfig(config));
  const keys = [...new Set(flats.flatMap((flat) => Object.keys(flat)))].sort();
  const rows = keys.map((key) => {
    const values = flats.map((flat) => flat[key]);
    return { key, values, differs: values.some((value) => value !== values[0]) };
  });
  return [...rows.filter((row) => row.differs), ...rows.filter((row) => !row.differs)];
}

/**
 * `metric` per run as chart series {label: [[epoch (1-based), value], ...]}; a resumed run's repeated epoch keeps
 * its last record. Labels are `prefix` + run id (made unique if two runs share one).
 */
export function curves(runs, metric, label = (run) => run.id) {
  const series = {};
  for (const run of runs) {
    const byEpoch = new Map((run.epochs ?? []).map((record) => [record.epoch, record]));
    let name = label(run);
    while (name in series) name += "'";
    series[name] = [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch).map((record) => [record.epoch + 1, record[metric] ?? null]);
  }
  return series;
}
