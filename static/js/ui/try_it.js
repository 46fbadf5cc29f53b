/**
 * The "Try it" panel: drop, paste or choose images, or use the webcam, and see the model's top-3 labels, or its boxes
 * or points drawn over the image. The model is loaded on first use by `load()` → {model, inputSize, normalization,
 * classes, task, resize} (model/predict.js prepares each image as training did). globalThis.browsertrainTry mirrors
 * it for scripts (`browsertrain predict`): {done: images answered so far, results: [{name, top: [{label,
 * probability}]} or {name, width, height, boxes: [{label, score, x, y, w, h}]} or {name, width, height, points:
 * [{name, x, y}]} (source pixels)], error}.
 */
import { predictImage } from '../model/predict.js';
import { el } from './dom.js';
import { annotatedImage } from './annotations.js';

/** The webcam is predicted this often (milliseconds); each answer replaces the last. */
export const WEBCAM_INTERVAL_MS = 300;

const percent = (p) => `${(p * 100).toFixed(1)}%`;

/** Boxes listed under the image at most (an undertrained detector can find dozens); all of them are drawn. */
export const MAX_LISTED_BOXES = 10;
/** The side (screen pixels) a detection or landmarks answer's image is drawn at, its boxes or points over it. */
const ANNOTATED_PX = 160;

/** The answer as the panel shows it: the top labels, or the boxes or points listed (they are drawn on the image). */
function answerView(result) {
  return result.top ? topList(result.top) : annotationList(result);
}

/** A box or point answer as text: one line per box (label, score, x, y, w, h) or point (name, x, y), in pixels. */
function annotationList(answer) {
  const px = (v) => Math.round(v);
  const rows = answer.boxes
    ? answer.boxes.slice(0, MAX_LISTED_BOXES).map((b) => `${b.label} ${percent(b.score)} at ${px(b.x)}, ${px(b.y)} (${px(b.w)}×${px(b.h)})`)
    : answer.points.map((p) => `${p.name}: ${px(p.x)}, ${px(p.y)}`);
  if (!rows.length) return el('p', { class: 'hint', text: 'No box over the score threshold.' });
  const more = (answer.boxes?.length ?? 0) - rows.length;
  return el('ul', { class: 'annotation-list' }, ...rows.map((text) => el('li', { text })),
    ...(more > 0 ? [el('li', { class: 'hint', text: `and ${more} more (drawn on the image)` })] : []));
}

/** The image with a detection or landmarks answer drawn over it (ui/annotations.js takes shares of the image). */
function answerImage(url, alt, { width, height, boxes, points }) {
  const predicted = boxes
    ? boxes.map((b) => ({ label: b.label, score: b.score, x: b.x / width, y: b.y / height, w: b.w / width, h: b.h / height }))
    : points.map((p) => [p.x / width, p.y / height]);
  const names = points ? points.map((p) => p.name) : [];
  return annotatedImage(url, boxes ? 'detection' : 'landmarks', { predicted }, { names, maxPx: ANNOTATED_PX, alt });
}

function topList(top) {
  return el('ol', { class: 'top-labels' }, ...top.map(({ label, probability }) => el('li', {},
    el('span', { class: 'label', text: label }), ' ',
    el('meter', { min: '0', max: '1', value: String(probability), title: percent(probability) }), ' ',
    el('span', { class: 'probability', text: percent(probability) }))));
}

/** Undoes the panel mounted last (its page-wide paste listener, its webcam), so a new run's panel replaces it. */
let unmountPrevious = null;

export function mountTryIt(container, load) {
  unmountPrevious?.();
  const mirror = { done: 0, results: [], error: null };
  globalThis.browsertrainTry = mirror;
  // Visually hidden but focusable: its label is the button people see.
  const input = el('input', { type: 'file', id: 'try-file', accept: 'image/*', multiple: '', class: 'visually-hidden' });
  const status = el('p', { class: 'hint', role: 'status', id: 'try-status',
    text: 'Drop or paste images here, choose files, or use the webcam: the model answers with its top 3 labels, '
      + 'or draws its boxes or points over the image.' });
  const results = el('div', { id: 'try-results', class: 'try-results' });
  const video = el('video', { id: 'try-video', autoplay: '', muted: '', playsinline: '', hidden: '' });
  const live = el('div', { id: 'try-live' });
  const camera = el('button', { type: 'button', class: 'secondary', id: 'try-webcam', text: 'Use the webcam' });
  container.replaceChildren(el('h2', { text: 'Try it' }), status,
    el('p', {}, el('label', { for: 'try-file', class: 'button', text: 'Choose images…' }), ' ', input, ' ', camera),
    el('div', { class: 'try-webcam' }, video, live), results);
  container.hidden = false;

  let loading = null;
  const ready = () => { loading ??= load(); return loading; };
  const fail = (err) => {
    mirror.error = err.message;
    status.className = 'error';
    status.textContent = `Could not predict: ${err.message}`;
  };

  async function predictFiles(files) {
    const images = [...files].filter((file) => file.type.startsWith('image/') || file.type === '');
    if (!images.length) return;
    status.className = 'hint';
    status.textContent = `Predicting ${images.length} image${images.length > 1 ? 's' : ''}…`;
    try {
      const { model, ...prep } = await ready();
      for (const file of images) {
        const result = await predictImage(model, file, prep);
        const url = URL.createObjectURL(file);
        const picture = result.top ? el('img', { src: url, alt: file.name }) : answerImage(url, file.name, result);
        picture.querySelector?.('img')?.addEventListener('load', () => URL.revokeObjectURL(url), { once: true });
        if (result.top) picture.addEventListener('load', () => URL.revokeObjectURL(url), { once: true });
        results.prepend(el('figure', { class: 'try-result' }, picture,
          el('figcaption', {}, el('b', { text: file.name }), answerView(result))));
        mirror.results.push({ name: file.name, ...result });
        mirror.done += 1;
      }
      status.textContent = `Predicted ${images.length} image${images.length > 1 ? 's' : ''} (newest first).`;
    } catch (err) {
      fail(err);
    }
  }

  let timer = null;
  async function toggleWebcam() {
    if (timer) {
      clearInterval(timer);
      timer = null;
      video.srcObject?.getTracks().forEach((track) => track.stop());
      video.hidden = true;
      camera.textContent = 'Use the webcam';
      return;
    }
    try {
      const { model, ...prep } = await ready();
      video.srcObject = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
      video.hidden = false;
      camera.textContent = 'Stop the webcam';
      let busy = false;
      timer = setInterval(async () => {
        if (busy || video.readyState < 2) return;
        busy = true;
        try { live.replaceChildren(answerView(await predictImage(model, video, prep))); } finally { busy = false; }
      }, WEBCAM_INTERVAL_MS);
    } catch (err) {
      fail(err);
    }
  }

  input.addEventListener('change', () => predictFiles(input.files));
  camera.addEventListener('click', toggleWebcam);
  container.addEventListener('dragover', (e) => { e.preventDefault(); container.classList.add('over'); });
  container.addEventListener('dragleave', () => container.classList.remove('over'));
  container.addEventListener('drop', (e) => {
    e.preventDefault();
    container.classList.remove('over');
    predictFiles(e.dataTransfer.files);
  });
  const onPaste = (e) => predictFiles([...e.clipboardData.items]
    .filter((item) => item.kind === 'file').map((item) => item.getAsFile()));
  document.addEventListener('paste', onPaste);
  unmountPrevious = () => {
    document.removeEventListener('paste', onPaste);
    if (timer) toggleWebcam();
  };
  return mirror;
}
