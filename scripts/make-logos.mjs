// Renders the kernelspec logos (a white lambda on TypeScript blue) as PNGs
// and SVG. Run once when the logo changes: node scripts/make-logos.mjs
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const BLUE = [49, 120, 198];
// Lambda strokes in a 0..1 box: the long leg and the short leg.
const STROKES = [
  [0.3, 0.18, 0.72, 0.84],
  [0.51, 0.5, 0.28, 0.84],
];

function distanceToSegment(px, py, [x1, y1, x2, y2]) {
  const dx = x2 - x1;
  const dy = y2 - y1;
  const t = Math.max(0, Math.min(1, ((px - x1) * dx + (py - y1) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (x1 + t * dx), py - (y1 + t * dy));
}

function crc32(bytes) {
  let crc = ~0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

function png(size) {
  const rows = [];
  const samples = 4;
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4);
    for (let x = 0; x < size; x++) {
      let white = 0;
      for (let s = 0; s < samples * samples; s++) {
        const px = (x + ((s % samples) + 0.5) / samples) / size;
        const py = (y + (Math.floor(s / samples) + 0.5) / samples) / size;
        if (STROKES.some((stroke) => distanceToSegment(px, py, stroke) < 0.055)) white++;
      }
      const a = white / (samples * samples);
      const rgb = BLUE.map((c) => Math.round(c * (1 - a) + 255 * a));
      row.set([...rgb, 255], 1 + x * 4);
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const dir = 'kernel-magics/kernelspec';
writeFileSync(`${dir}/logo-32x32.png`, png(32));
writeFileSync(`${dir}/logo-64x64.png`, png(64));
const lines = STROKES.map(
  ([x1, y1, x2, y2]) =>
    `<line x1="${x1 * 64}" y1="${y1 * 64}" x2="${x2 * 64}" y2="${y2 * 64}" stroke="#fff" stroke-width="7" stroke-linecap="round"/>`,
).join('');
writeFileSync(
  `${dir}/logo-svg.svg`,
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" fill="rgb(${BLUE})"/>${lines}</svg>\n`,
);
