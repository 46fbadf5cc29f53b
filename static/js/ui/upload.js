/** Upload page: drag-and-drop or pick a zip, send it with a progress bar, show the server's verdict. */
import { uploadDataset } from '../api.js';
import { $, bytes } from './dom.js';

let chosen = null;

function choose(file) {
  chosen = file;
  $('#upload-chosen').textContent = file ? `${file.name} (${bytes(file.size)})` : '';
  const name = $('#upload-name');
  if (file && !name.value) name.value = file.name.replace(/\.zip$/i, '').replace(/[^A-Za-z0-9._-]/g, '_');
}

const zone = $('#drop-zone');
zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
zone.addEventListener('dragleave', () => zone.classList.remove('over'));
zone.addEventListener('drop', (e) => { e.preventDefault(); zone.classList.remove('over'); choose(e.dataTransfer.files[0]); });
$('#upload-file').addEventListener('change', (e) => choose(e.target.files[0]));

$('#upload-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const message = $('#upload-message');
  if (!chosen) { message.textContent = 'Choose a .zip first.'; message.className = 'error'; return; }
  const progress = $('#upload-progress');
  progress.hidden = false;
  $('#upload-submit').disabled = true;
  message.className = '';
  message.textContent = 'Uploading…';
  try {
    const result = await uploadDataset(chosen, $('#upload-name').value, (f) => {
      progress.value = f;
      if (f >= 1) message.textContent = 'Checking every image…';
    });
    message.className = 'ok';
    message.replaceChildren(`Imported ${result.num_items} images in ${result.classes.length} classes. `,
      Object.assign(document.createElement('a'), { href: `/datasets/${encodeURIComponent(result.name)}`, textContent: 'Open it' }));
  } catch (err) {
    message.className = 'error';
    message.textContent = `Upload refused: ${err.message}`;
  } finally {
    $('#upload-submit').disabled = false;
  }
});
