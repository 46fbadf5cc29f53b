/**
 * The train page's tool results (input preview, finder / range test, overfit or evaluation outcome) share one
 * place: showing one hides the others, so results of earlier clicks do not pile up under the new one.
 * Pages without these panels (the run page renders evaluations too) are left alone.
 */
const PANELS = ['#preview', '#tool-output', '#outcome'];

export function showResultPanel(keep) {
  for (const selector of PANELS) {
    const panel = document.querySelector(selector);
    if (panel) panel.hidden = selector !== keep;
  }
}
