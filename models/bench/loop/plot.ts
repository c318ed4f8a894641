/** A hand-written SVG of accuracy against labels used, for both arms, the baseline and the target. */
import type { CurvePoint } from './summary.js';

export interface PlotInput {
  title: string;
  curves: { name: string; color: string; points: CurvePoint[] }[];
  baseline: number;
  target: number;
}

const W = 760;
const H = 460;
const M = { left: 70, right: 200, top: 48, bottom: 58 };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A "nice" tick step (1, 2 or 5 × 10^n) giving about `count` ticks over `span`. */
function niceStep(span: number, count: number): number {
  const raw = span / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * pow >= raw) ?? 10) * pow;
}

/** Renders the plot; the y axis spans from just under the lowest value to 100%. */
export function accuracyPlotSvg(p: PlotInput): string {
  const all = p.curves.flatMap((c) => c.points);
  const xMax = Math.max(1, ...all.map((q) => q.labels));
  const yLo = Math.max(0, Math.floor(Math.min(p.baseline, p.target, ...all.map((q) => q.accuracy)) * 20) / 20 - 0.05);
  const yHi = 1;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (v: number) => M.left + (v / xMax) * pw;
  const y = (v: number) => M.top + ((yHi - v) / (yHi - yLo)) * ph;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${M.left}" y="28" font-size="15" font-weight="600">${esc(p.title)}</text>`,
  );
  const xStep = niceStep(xMax, 8);
  for (let v = 0; v <= xMax + 1e-9; v += xStep) {
    out.push(
      `<line x1="${x(v)}" y1="${M.top}" x2="${x(v)}" y2="${M.top + ph}" stroke="#eee"/>`,
      `<text x="${x(v)}" y="${M.top + ph + 18}" text-anchor="middle">${v}</text>`,
    );
  }
  const yStep = niceStep(yHi - yLo, 8);
  for (let v = Math.ceil(yLo / yStep) * yStep; v <= yHi + 1e-9; v += yStep) {
    out.push(
      `<line x1="${M.left}" y1="${y(v)}" x2="${M.left + pw}" y2="${y(v)}" stroke="#eee"/>`,
      `<text x="${M.left - 8}" y="${y(v) + 4}" text-anchor="end">${(v * 100).toFixed(yStep < 0.01 ? 1 : 0)}%</text>`,
    );
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${M.left + pw / 2}" y="${H - 16}" text-anchor="middle" font-size="13">labels used (simulated oracle)</text>`,
    `<text transform="translate(20 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="13">accuracy on the shifted test set</text>`,
    `<line x1="${M.left}" y1="${y(p.baseline)}" x2="${M.left + pw}" y2="${y(p.baseline)}" stroke="#666" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    `<line x1="${M.left}" y1="${y(p.target)}" x2="${M.left + pw}" y2="${y(p.target)}" stroke="#2a9d3f" stroke-width="1" stroke-dasharray="2 3"/>`,
  );
  for (const c of p.curves) {
    const pts = c.points.map((q) => `${x(q.labels).toFixed(1)},${y(q.accuracy).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${pts}" fill="none" stroke="${c.color}" stroke-width="2.2"/>`);
    for (const q of c.points) out.push(`<circle cx="${x(q.labels).toFixed(1)}" cy="${y(q.accuracy).toFixed(1)}" r="3" fill="${c.color}"/>`);
  }
  const legend: [string, string, string][] = [
    ...p.curves.map((c): [string, string, string] => [c.name, c.color, '']),
    [`baseline ${(p.baseline * 100).toFixed(1)}%`, '#666', '6 4'],
    [`target ${(p.target * 100).toFixed(0)}%`, '#2a9d3f', '2 3'],
  ];
  const lx = M.left + pw + 16;
  legend.forEach(([name, color, dash], i) => {
    const ly = M.top + 12 + i * 22;
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 26}" y2="${ly}" stroke="${color}" stroke-width="2.2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
      `<text x="${lx + 32}" y="${ly + 4}">${esc(name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
