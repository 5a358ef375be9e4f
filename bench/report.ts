// Writes a benchmark run: bench/results/latest.json (everything), latest.md (the tables) and
// latency.svg (latency percentiles against concurrency). The chart is a few polylines, drawn here: a
// charting library would be a large dependency for one static SVG.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LoadResult } from './hotPath.js';

export interface BenchReport {
  settings: Record<string, unknown>;
  rows: LoadResult[];
  /** Each ratio's median over its rounds. */
  ratios: Record<string, number>;
  /** Each ratio's value in every round. */
  ratioRounds: Record<string, number[]>;
  sweep: LoadResult[];
  figures: Record<string, number | string>;
}

const table = (rows: LoadResult[]) =>
  [
    '| Run | Connections | req/s | p50 ms | p90 ms | p99 ms | Requests | Errors | Server CPU µs/request |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.connections} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p90.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.requests} | ${r.errors} | ${r.serverCpuUs ?? ''} |`,
    ),
  ].join('\n');

function chart(sweep: LoadResult[]): string {
  const [width, height, left, bottom, top, right] = [720, 420, 60, 50, 30, 200];
  const series = [...new Set(sweep.map((r) => r.name))];
  const levels = [...new Set(sweep.map((r) => r.connections))].sort((a, b) => a - b);
  const maxMs = Math.max(1, ...sweep.map((r) => r.p99));
  const x = (c: number) =>
    left + (levels.indexOf(c) / Math.max(1, levels.length - 1)) * (width - left - right);
  const y = (ms: number) => height - bottom - (ms / maxMs) * (height - bottom - top);
  const colours = ['#1b6ac9', '#d9480f', '#2b8a3e', '#862e9c'];
  const lines = series.flatMap((name, i) => {
    const points = sweep.filter((r) => r.name === name).sort((a, b) => a.connections - b.connections);
    const colour = colours[i % colours.length];
    const line = (pick: (r: LoadResult) => number, dash: string) =>
      `<polyline fill="none" stroke="${colour}" stroke-width="2" ${dash} points="${points.map((r) => `${x(r.connections).toFixed(1)},${y(pick(r)).toFixed(1)}`).join(' ')}"/>`;
    const legend = height - bottom - 180 + i * 40;
    return [
      line((r) => r.p50, ''),
      line((r) => r.p99, 'stroke-dasharray="6 4"'),
      `<text x="${width - right + 15}" y="${legend}" fill="${colour}" font-size="12">${name}</text>`,
      `<text x="${width - right + 15}" y="${legend + 15}" fill="${colour}" font-size="11">solid p50, dashed p99</text>`,
    ];
  });
  const ticks = levels.map(
    (c) => `<text x="${x(c)}" y="${height - bottom + 18}" font-size="11" text-anchor="middle">${c}</text>`,
  );
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map(
    (f) =>
      `<text x="${left - 8}" y="${y(f * maxMs) + 4}" font-size="11" text-anchor="end">${(f * maxMs).toFixed(1)}</text><line x1="${left}" x2="${width - right}" y1="${y(f * maxMs)}" y2="${y(f * maxMs)}" stroke="#ddd"/>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" role="img">`,
    '<title>POST /api/token latency percentiles against concurrent connections</title>',
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="18" font-size="14">POST /api/token latency (ms) against concurrent connections, repeat callers, RS256</text>`,
    ...yTicks,
    ...ticks,
    `<text x="${(left + width - right) / 2}" y="${height - 12}" font-size="12" text-anchor="middle">connections</text>`,
    ...lines,
    '</svg>',
  ].join('\n');
}

export async function writeReport(directory: string, report: BenchReport): Promise<string[]> {
  await mkdir(directory, { recursive: true });
  const machine = {
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    date: new Date().toISOString(),
  };
  const json = path.join(directory, 'latest.json');
  const markdown = path.join(directory, 'latest.md');
  const svg = path.join(directory, 'latency.svg');
  await writeFile(json, `${JSON.stringify({ machine, ...report }, null, 2)}\n`);
  await writeFile(
    markdown,
    [
      `# Benchmark run, ${machine.date}`,
      '',
      `Node ${machine.node}, ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB; settings: \`${JSON.stringify(report.settings)}\`.`,
      '',
      '## Ratios (same run, side by side; the median of the rounds)',
      '',
      '| Ratio | Median | Rounds |',
      '|---|---:|---|',
      ...Object.entries(report.ratios).map(
        ([name, value]) => `| ${name} | ${value} | ${report.ratioRounds[name]?.join(', ') ?? ''} |`,
      ),
      '',
      '## Figures',
      '',
      '| Figure | Value |',
      '|---|---:|',
      ...Object.entries(report.figures).map(([name, value]) => `| ${name} | ${value} |`),
      '',
      '## Runs',
      '',
      table(report.rows),
      '',
      '## Concurrency sweep ([chart](latency.svg))',
      '',
      table(report.sweep),
      '',
    ].join('\n'),
  );
  await writeFile(svg, `${chart(report.sweep)}\n`);
  return [json, markdown, svg];
}
