/** Renders a confusion matrix as a self-contained SVG a person can open in any browser. */
import type { Evaluation } from './metrics.js';

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/**
 * Cells are shaded by the share of the true class (row-normalised), so a small class's errors
 * show as clearly as a large one's; each cell prints its count. Rows are true labels, columns
 * predictions.
 */
export function confusionMatrixSvg(e: Pick<Evaluation, 'confusion' | 'labels' | 'accuracy'>, title = 'Confusion matrix'): string {
  const k = e.labels.length;
  const cell = Math.max(22, Math.min(48, Math.floor(560 / Math.max(1, k))));
  const margin = { left: 110, top: 70, right: 20, bottom: 20 };
  const w = margin.left + k * cell + margin.right;
  const h = margin.top + k * cell + margin.bottom + 30;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${margin.left}" y="22" font-size="15" font-weight="bold">${escapeXml(title)} (accuracy ${(e.accuracy * 100).toFixed(2)}%)</text>`,
    `<text x="${margin.left + (k * cell) / 2}" y="${margin.top - 30}" text-anchor="middle">predicted</text>`,
    `<text x="14" y="${margin.top + (k * cell) / 2}" transform="rotate(-90 14 ${margin.top + (k * cell) / 2})" text-anchor="middle">true</text>`,
  ];
  for (let r = 0; r < k; r++) {
    const rowTotal = e.confusion[r]!.reduce((s, x) => s + x, 0) || 1;
    const y = margin.top + r * cell;
    parts.push(`<text x="${margin.left - 6}" y="${y + cell / 2 + 4}" text-anchor="end">${escapeXml(e.labels[r]!)}</text>`);
    for (let c = 0; c < k; c++) {
      const count = e.confusion[r]![c]!;
      const share = count / rowTotal;
      const x = margin.left + c * cell;
      // Correct predictions in blue, errors in red; darker means a larger share of the row.
      const hue = r === c ? 215 : 0;
      const light = Math.round(97 - share * 60);
      parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="hsl(${hue},70%,${light}%)" stroke="#ddd"/>`);
      if (count > 0) {
        parts.push(
          `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle" fill="${light < 60 ? '#fff' : '#222'}">${count}</text>`,
        );
      }
    }
  }
  for (let c = 0; c < k; c++) {
    parts.push(
      `<text x="${margin.left + c * cell + cell / 2}" y="${margin.top - 8}" text-anchor="middle">${escapeXml(e.labels[c]!)}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('\n');
}
