/** Splits a bulk pack (see README "The bulk pack format") into per-item byte views, without copying. */
// @ts-check

export const PACK_MAGIC = 'BTPK';

/**
 * The JSON header after the magic and its length (server/datasets/pack.py writes it).
 * @typedef {object} PackHeader
 * @property {number} version      1
 * @property {string} dataset      the dataset's name
 * @property {string} hash         its manifest's content hash: the IndexedDB cache is keyed by it
 * @property {PackEntry[]} items   in payload order
 *
 * @typedef {object} PackEntry
 * @property {number} id            the item's id in the dataset
 * @property {string} [label]       its class name (classification)
 * @property {object[]} [boxes]     detection: [{label, x, y, w, h}] in the image's pixels
 * @property {number[][]} [points]  landmarks: [[x, y, v]] in the image's pixels
 * @property {object} [box]         landmarks: the box around the points, when the set has one
 * @property {number} [width]       annotated items: the size their pixels refer to
 * @property {number} [height]
 * @property {string} content_type  e.g. image/jpeg
 * @property {number} offset        from the first payload byte
 * @property {number} size          in bytes
 */

/**
 * One item cut out of the pack: a view on the pack's own buffer, not a copy.
 * @typedef {{ id: number, label?: string, annotation?: Annotation, contentType: string, bytes: Uint8Array }} PackItem
 * @typedef {{ width: number, height: number, boxes?: object[], points?: number[][], box?: object }} Annotation

 */

/**
 * An annotated entry's labels: {width, height} and whichever of boxes, points and box it has.
 * @param {PackEntry} entry
 * @returns {Annotation}
 */
function annotationOf(entry) {
  const { width = 0, height = 0, boxes, points, box } = entry;
  return { width, height, ...(boxes ? { boxes } : {}), ...(points ? { points } : {}), ...(box ? { box } : {}) };
}

/**
 * Parses a whole pack; throws on a buffer that is not one, or is cut short.
 * @param {ArrayBuffer} buffer
 * @returns {{ header: PackHeader, items: PackItem[] }}
 */
export function parsePack(buffer) {
  const view = new DataView(buffer);
  const magic = String.fromCharCode(...new Uint8Array(buffer, 0, 4));
  if (buffer.byteLength < 8 || magic !== PACK_MAGIC) throw new Error('not a browsertrain pack');
  const headerLength = view.getUint32(4, true);
  const base = 8 + headerLength;
  if (base > buffer.byteLength) throw new Error('pack header is truncated');
  /** @type {PackHeader} */
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, headerLength)));
  const items = header.items.map((entry) => {
    if (base + entry.offset + entry.size > buffer.byteLength) throw new Error(`pack item ${entry.id} is truncated`);
    return {
      id: entry.id,
      label: entry.label,
      ...(entry.label === undefined ? { annotation: annotationOf(entry) } : {}),
      contentType: entry.content_type,
      bytes: new Uint8Array(buffer, base + entry.offset, entry.size),
    };
  });
  return { header, items };
}
