/** Pretrained weights read from the npm packages that ship them (served under /vendor/), decoded into tensors. */
import { tf } from '../tf.js';

/** Where pages find a package's files: the folders server/app.py serves from node_modules. */
export const VENDOR_URL = '/vendor';

/** A page's reader: a path inside a vendor folder → its bytes. Node tests pass one that reads node_modules. */
export async function fetchVendorFile(folder, path) {
  const response = await fetch(`${VENDOR_URL}/${folder}/${path}`);
  if (!response.ok) {
    throw new Error(`could not load ${folder}/${path} (HTTP ${response.status}); run \`npm ci\` so the server has it`);
  }
  return response.arrayBuffer();
}

const text = (buffer) => new TextDecoder().decode(buffer);

/** The bracketed JavaScript literal that starts at `start` (its brackets balanced; no brackets inside its strings). */
function bracketed(source, start) {
  let depth = 0;
  for (let i = start; i < source.length; i++) {
    if (source[i] === '[' || source[i] === '{') depth += 1;
    else if (source[i] === ']' || source[i] === '}') depth -= 1;
    if (depth === 0) return source.slice(start, i + 1);
  }
  throw new Error('unbalanced brackets');
}

/**
 * The weights manifest inside nsfwjs' bundled model (`model.min.js`: a browserify module whose export is a minified
 * object literal). Read as data, never evaluated: quote the bare keys and complete numbers such as `.5`, then parse
 * it as JSON.
 */
export function manifestFromBundle(source) {
  const key = 'weightsManifest:';
  const at = source.indexOf(key);
  if (at < 0) throw new Error('no weightsManifest in the bundled model');
  const literal = bracketed(source, at + key.length)
    .replace(/([{,])([A-Za-z_$][\w$]*):/g, '$1"$2":')
    .replace(/([:,[])(-?)\./g, (_, before, sign) => `${before}${sign}0.`);
  return JSON.parse(literal);
}

/** The weight bytes inside one of nsfwjs' bundled shards: the module exports them as one base64 string. */
export function bytesFromBundle(source) {
  const strings = source.match(/"[A-Za-z0-9+/]{64,}={0,2}"/g) ?? [];
  const longest = strings.reduce((a, b) => (b.length > a.length ? b : a), '');
  if (!longest) throw new Error('no base64 weights in the bundled shard');
  const binary = atob(longest.slice(1, -1));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function concatenate(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(new Uint8Array(part.buffer ?? part, part.byteOffset ?? 0, part.byteLength), offset);
    offset += part.byteLength;
  }
  return out.buffer;
}

/** 'a/b/model.json' → 'a/b/': shard paths in a manifest are relative to it. */
const folderOf = (path) => path.slice(0, path.lastIndexOf('/') + 1);

/** Decodes a tfjs weights manifest (uint8/uint16/float16 quantization included) over the shards' bytes. */
function decode(manifest, shards) {
  const specs = manifest.flatMap((group) => group.weights);
  return tf.io.decodeWeights(concatenate(shards), specs);
}

/**
 * The named weight tensors of `source` ({format, folder, manifest, ...}, from the backbone registry), read with
 * `readFile(folder, path)`. The caller disposes them.
 */
export async function loadWeights(source, readFile = fetchVendorFile) {
  if (source.format === 'nsfwjs-bundle') {
    const manifest = manifestFromBundle(text(await readFile(source.folder, source.manifest)));
    const shards = [];
    for (const group of manifest) {
      for (const path of group.paths) {
        shards.push(bytesFromBundle(text(await readFile(source.folder, `${folderOf(source.manifest)}${path}.min.js`))));
      }
    }
    return decode(manifest, shards);
  }
  if (source.format === 'tfjs-weights') {
    const manifest = JSON.parse(text(await readFile(source.folder, source.manifest)));
    const shards = [];
    for (const group of manifest) {
      for (const path of group.paths) shards.push(await readFile(source.folder, `${folderOf(source.manifest)}${path}`));
    }
    return decode(manifest, shards);
  }
  throw new Error(`unknown weights format '${source.format}'`);
}
