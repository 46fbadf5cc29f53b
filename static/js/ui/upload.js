/** Upload page: drag-and-drop, click or keyboard to pick a zip, send it with a progress bar, show the verdict. */
import { uploadDataset } from '../api.js';
import { $, bytes, el } from './dom.js';

const EXISTS = 409;
let chosen = null;
let nameFromFile = false;  // the name was filled from a file name, so the next file may rename it

const nameInput = $('#upload-name');
const fileInput = $('#upload-file');
const progress = $('#upload-progress');
const message = $('#upload-message');

function choose(file) {
  if (!file) return;
  chosen = file;
  $('#upload-chosen').textContent = `Chosen: ${file.name} (${bytes(file.size)})`;
  if (!nameInput.value || nameFromFile) {
    nameInput.value = file.name.replace(/\.zip$/i, '').replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[._-]+/, '')
      .replace(/\.{2,}/g, '.').slice(0, Number(nameInput.maxLength));
    nameFromFile = true;
  }
  resetProgress();
  message.replaceChildren();
}

function resetProgress() {
  progress.value = 0;
  progress.hidden = true;
}

const zone = $('#drop-zone');
// showPicker() where there is one: Chromium 156 opens no chooser for click() from a keydown handler.
const openPicker = () => (fileInput.showPicker ? fileInput.showPicker() : fileInput.click());
zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
zone.addEventListener('dragleave', () => zone.classList.remove('over'));
zone.addEventListener('drop', (e) => { e.preventDefault(); zone.classList.remove('over'); choose(e.dataTransfer.files[0]); });
zone.addEventListener('click', (e) => { if (e.target === zone) openPicker(); });
zone.addEventListener('keydown', (e) => {
  if (e.target !== zone || (e.key !== 'Enter' && e.key !== ' ')) return;
  e.preventDefault();  // Space would scroll the page
  openPicker();
});
$('#choose-file').addEventListener('click', openPicker);
fileInput.addEventListener('change', () => choose(fileInput.files[0]));
nameInput.addEventListener('input', () => { nameFromFile = false; });

function showSuccess(result) {
  const name = encodeURIComponent(result.name);
  const open = el('a', { id: 'open-dataset', href: `/datasets/${name}`, text: 'Open it' });
  message.className = 'ok';
  const what = result.task && result.task !== 'classification' ? `as a ${result.task} set`
    : `in ${result.classes.length} classes`;
  message.replaceChildren(`Imported ${result.num_items} images ${what}. `, open, ' · ',
    el('a', { id: 'train-on-it', class: 'button', href: `/train?dataset=${name}`, text: 'Train on it' }));
}

function showRefusal(err, name) {
  message.className = 'error';
  message.replaceChildren(`Upload refused: ${err.message}`);
  if (err.status === EXISTS) {
    message.append(' ', el('button', { type: 'button', id: 'replace-dataset', class: 'danger',
      text: `Replace ${name}`, onclick: () => send({ replace: true }) }));
  }
}

async function send({ replace = false } = {}) {
  if (!chosen) { message.textContent = 'Choose a .zip first.'; message.className = 'error'; return; }
  const name = nameInput.value;
  progress.value = 0;
  progress.hidden = false;
  $('#upload-submit').disabled = true;
  message.className = '';
  message.textContent = replace ? `Replacing ${name}…` : 'Uploading…';
  try {
    const result = await uploadDataset(chosen, name, (f) => {
      progress.value = f;
      if (f >= 1) message.textContent = 'Checking every image…';
    }, { replace });
    showSuccess(result);
  } catch (err) {
    resetProgress();  // a full bar under a refusal reads as success
    showRefusal(err, name);
  } finally {
    $('#upload-submit').disabled = false;
  }
}

// The browser checks the name's pattern before this runs, so a bad name never uploads.
$('#upload-form').addEventListener('submit', (e) => { e.preventDefault(); send(); });
document.body.dataset.ready = 'true';
