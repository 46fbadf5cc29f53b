/**
 * The end of a run on the train page: where to go next (the run, Export, Train more), whether it learned, and the
 * "Try it" panel on its final snapshot.
 */
import { loadRunModel } from '../model/predict.js';
import { el, fixed } from './dom.js';
import { mountTryIt } from './try_it.js';

/** `summary` of a plain run (with run_id); `run` as the server has it (for its config and dataset). */
export function renderAfterRun(section, summary, run) {
  const id = summary.run_id;
  const accuracy = summary.val_accuracy === null ? '' : `, validation accuracy ${fixed(summary.val_accuracy, 3)}`;
  const warnings = summary.warnings ?? [];
  section.replaceChildren(
    el('h2', { text: `Run ${id}: ${summary.reason}${accuracy}` }),
    el('p', { class: 'next-steps' },
      el('a', { id: 'open-run', class: 'button', href: `/runs/${id}`, text: 'Open the run' }), ' ',
      el('a', { id: 'open-export', class: 'button secondary', href: `/runs/${id}/export`, text: 'Export…' }), ' ',
      el('a', { id: 'train-more-link', class: 'button secondary', href: `/train?from=${id}`,
        text: 'Train more', title: 'a new run from this run\'s last snapshot, with its optimizer state' })),
    ...(warnings.length ? [el('div', { class: 'error', id: 'not-learning', role: 'alert' },
      el('b', { text: 'This run may not have learned.' }),
      el('ul', {}, ...warnings.map((w) => el('li', { text: `${w.message}. Next: ${w.next_step}.` }))))] : []),
    el('section', { id: 'try-it', class: 'try-it' }),
  );
  section.hidden = false;
  mountTryIt(section.querySelector('#try-it'), () => loadRunModel(run));
}
