/**
 * The shape of bench/results/latest.json and the printed table. A comparison is one measured
 * subject next to its baseline, their ratio in the direction the target is stated, and
 * whether the target was met.
 */
import { arch, cpus, loadavg, platform, release, totalmem } from 'node:os';

export type Unit = 'msgs/s' | 'ops/s' | 'µs/op' | 'ns/op' | 'B/conversation' | 'ms' | 'MB' | 'requests' | 'kB';

export interface Figure {
  label: string;
  value: number;
  unit: Unit;
}

export interface Target {
  /** `min`: ratio must be at least `value`; `max`: at most. */
  kind: 'min' | 'max';
  value: number;
  /** How the target reads in the issue, e.g. "≥ 3× the raw SDK's throughput". */
  text: string;
}

export interface Comparison {
  section: string;
  name: string;
  subject: Figure;
  baseline?: Figure;
  /** The number the target is about (see `ratioMeaning`). */
  ratio: number;
  ratioMeaning: string;
  target?: Target;
  met?: boolean;
  notes?: string[] | undefined;
}

export interface Pending {
  section: string;
  name: string;
  reason: string;
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  v8: string;
  os: string;
  arch: string;
  date: string;
  /** 1-minute load average when the run started: other work on the machine skews figures. */
  loadAverage1m: number;
}

export interface BenchReport {
  machine: MachineInfo;
  durationSeconds: number;
  comparisons: Comparison[];
  pending: Pending[];
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    v8: process.versions.v8,
    os: `${platform()} ${release()}`,
    arch: arch(),
    date: new Date().toISOString(),
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
  };
}

/** Builds a comparison and decides `met` from the target. */
export function compare(c: Omit<Comparison, 'met'> & { target?: Target }): Comparison {
  const met =
    c.target === undefined
      ? undefined
      : c.target.kind === 'min'
        ? c.ratio >= c.target.value
        : c.ratio <= c.target.value;
  return met === undefined ? c : { ...c, met };
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString('en-US');
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 0.01) return value.toFixed(3).replace(/\.?0+$/, '') || '0';
  return abs >= 0.0001 ? value.toPrecision(3) : value.toExponential(2);
}

function figure(f: Figure | undefined): string {
  return f === undefined ? '' : `${f.label}: ${formatNumber(f.value)} ${f.unit}`;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** A plain-text table: one row per comparison, then its notes. */
export function renderTable(report: BenchReport): string {
  const rows: string[][] = [['section', 'measurement', 'subject', 'baseline', 'ratio', 'target', 'result']];
  for (const c of report.comparisons) {
    rows.push([
      c.section,
      c.name,
      figure(c.subject),
      figure(c.baseline),
      `${formatNumber(c.ratio)} (${c.ratioMeaning})`,
      c.target?.text ?? '',
      c.met === undefined ? '' : c.met ? 'MET' : 'MISSED',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.min(60, Math.max(...rows.map((r) => r[i]!.length))));
  const lines = rows.map((r) => r.map((cell, i) => pad(cell, widths[i]!)).join(' | '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('-|-'));
  const notes = report.comparisons.flatMap((c) => (c.notes ?? []).map((n) => `  [${c.section} / ${c.name}] ${n}`));
  const pending = report.pending.map((p) => `  PENDING ${p.section} / ${p.name}: ${p.reason}`);
  const met = report.comparisons.filter((c) => c.met === true).length;
  const missed = report.comparisons.filter((c) => c.met === false).length;
  return [
    `machine: ${report.machine.cpu} × ${report.machine.cores}, ${report.machine.memoryGb} GB, node ${report.machine.node}, ${report.machine.os}, ${report.machine.date}, load ${report.machine.loadAverage1m}`,
    '',
    ...lines,
    '',
    ...(notes.length > 0 ? ['notes:', ...notes, ''] : []),
    ...(pending.length > 0 ? ['not measured:', ...pending, ''] : []),
    `targets: ${met} met, ${missed} missed, ${report.pending.length} not measured (total ${report.durationSeconds.toFixed(0)} s)`,
  ].join('\n');
}
