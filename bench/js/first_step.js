// Evaluated in the app's /train page around a click on Train, like a user's.
// op 'arm': note the time of the next click on the Train button (the page's own timeline, performance.now()).
// op 'collect': every phase the run recorded since that click (static/js/timing.js), as {name: [ms, ...]} durations
// plus the end of each, relative to the click; and what the run chose (backend, batch size, where the data came from).
async ({ op }) => {
  const PREFIX = 'browsertrain:';
  if (op === 'arm') {
    globalThis.benchFirstStep = { clickAt: null };
    document.querySelector('#start').addEventListener('click', () => {
      globalThis.benchFirstStep.clickAt = performance.now();
    }, { capture: true, once: true });
    return true;
  }
  if (op === 'collect') {
    const { clickAt } = globalThis.benchFirstStep;
    const phases = {};
    const ends = {};
    for (const entry of performance.getEntries()) {
      if (!entry.name.startsWith(PREFIX) || entry.startTime < clickAt) continue;
      const name = entry.name.slice(PREFIX.length);
      if (entry.entryType === 'measure') {
        (phases[name] ??= []).push(entry.duration);
        ends[name] = entry.startTime + entry.duration - clickAt;
      } else if (entry.entryType === 'mark') {
        ends[name] = entry.startTime - clickAt;
      }
    }
    const state = globalThis.browsertrain;
    return { phases, ends, backend: state.backend?.backend ?? null, reason: state.backend?.reason ?? null,
      source: state.sync?.source ?? null, batchSize: state.config?.batchSize ?? null,
      inputSize: state.config?.inputSize ?? null, error: state.error };
  }
  throw new Error(`unknown op ${op}`);
}
