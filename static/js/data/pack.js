/** Splits a bulk pack (see README "The bulk pack format") into per-item byte views, without copying. */

export const PACK_MAGIC = 'BTPK';

/** Parse a whole pack. Returns {header, items: [{id, label, contentType, bytes: Uint8Array view}]}. */
export function parsePack(buffer) {
  const view = new DataView(buffer);
  const magic = String.fromCharCode(...new Uint8Array(buffer, 0, 4));
  if (buffer.byteLength < 8 || magic !== PACK_MAGIC) throw new Error('not a browsertrain pack');
  const headerLength = view.getUint32(4, true);
  const base = 8 + headerLength;
  if (base > buffer.byteLength) throw new Error('pack header is truncated');
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, headerLength)));
  const items = header.items.map((entry) => {
    if (base + entry.offset + entry.size > buffer.byteLength) throw new Error(`pack item ${entry.id} is truncated`);
    return {
      id: entry.id,
      label: entry.label,
      contentType: entry.content_type,
      bytes: new Uint8Array(buffer, base + entry.offset, entry.size),
    };
  });
  return { header, items };
}
