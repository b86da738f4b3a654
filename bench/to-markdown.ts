/**
 * Prints bench/results/latest.json (or the file given) as the Markdown tables used in
 * docs/performance.md, so the page is regenerated from a run rather than typed by hand:
 *
 *   npx tsx bench/to-markdown.ts [bench/results/latest.json]
 */
import { readFileSync } from 'node:fs';
import { type BenchReport, formatNumber } from './lib/report.js';

const file = process.argv[2] ?? new URL('./results/latest.json', import.meta.url);
const report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
const m = report.machine;
const cell = (text: string) => text.replaceAll('|', '\\|');

const lines = [
  `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB RAM, Node ${m.node} (V8 ${m.v8}), ${m.os} ${m.arch}; ` +
    `run ${m.date}, ${report.durationSeconds.toFixed(0)} s, 1-minute load average ${m.loadAverage1m} at the start.`,
  '',
  '| section | measurement | vonage-messenger | baseline | ratio | target | result |',
  '| --- | --- | --- | --- | --- | --- | --- |',
];
for (const c of report.comparisons) {
  const fig = (f?: { label: string; value: number; unit: string }) =>
    f === undefined ? '—' : `${formatNumber(f.value)} ${f.unit} (${f.label})`;
  lines.push(
    `| ${[
      c.section,
      c.name,
      fig(c.subject),
      fig(c.baseline),
      `${formatNumber(c.ratio)} ${c.ratioMeaning}`,
      c.target?.text ?? '—',
      c.met === undefined ? 'context' : c.met ? '**met**' : '**missed**',
    ]
      .map(cell)
      .join(' | ')} |`,
  );
}
if (report.pending.length > 0) {
  lines.push('', 'Not measured:', '');
  for (const p of report.pending) lines.push(`- ${p.section} / ${p.name}: ${p.reason}`);
}
process.stdout.write(`${lines.join('\n')}\n`);
