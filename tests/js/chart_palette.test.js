import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SERIES_COLOURS } from '../../static/js/ui/chart.js';

const css = readFileSync(new URL('../../static/css/app.css', import.meta.url), 'utf8');

function luminance(hex) {
  const channels = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2];
}
const contrast = (a, b) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
};

test('every chart colour has at least 4.5:1 contrast on the chart (white) and the page background', () => {
  const background = css.match(/--bg:\s*(#[0-9a-f]{6})/i)[1];
  const colours = [...css.matchAll(/--series-(\d+):\s*(#[0-9a-f]{6})/gi)].map((m) => m[2]);
  assert.equal(colours.length, SERIES_COLOURS);
  for (let i = 0; i < SERIES_COLOURS; i++) assert.match(css, new RegExp(`\\.series-${i} \\{ color: var\\(--series-${i}\\); \\}`));
  for (const colour of colours) {
    for (const surface of ['#ffffff', background]) {
      assert.ok(contrast(colour, surface) >= 4.5, `${colour} on ${surface}: ${contrast(colour, surface).toFixed(2)}:1`);
    }
  }
});
