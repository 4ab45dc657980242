/**
 * The stats page's quality-of-experience charts: the figures of `GET /v1/videos/:id/qoe` (docs/qoe.md) per hour
 * (median startup, rebuffering) and per group (country, browser and system) as bar charts in the views chart's look.
 * Pure strings (unit-tested); lib/qoe-view.ts builds the cards and the table.
 */
import { barChartSvg, type Bar } from './chart';

/** The figures of a QoE report the page shows (the API's QoeFigures: workers/views/qoe/sketch.ts, docs/qoe.md). */
export interface QoeFigures {
  views: number;
  startedViews: number;
  startupP50Ms: number | null;
  startupP95Ms: number | null;
  rebufferRatio: number | null;
  failureRate: number | null;
  exitBeforeStartRate: number | null;
  averageBitrate: number | null;
}

export interface QoeReport {
  totals: QoeFigures;
  hourly: (QoeFigures & { hour: string })[];
  breakdown?: { by: 'country' | 'browser'; groups: (QoeFigures & { key: string })[] };
}

export const seconds = (ms: number | null): string => (ms === null ? '–' : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`);
export const percent = (ratio: number | null): string => (ratio === null ? '–' : `${(ratio * 100).toFixed(ratio < 0.1 ? 2 : 1)} %`);

/** Median startup and rebuffering per hour (hours without views are empty slots). */
export function hourlyQoeCharts(hourly: QoeReport['hourly'], formatHour: (ms: number) => string): { startup: string; rebuffer: string } {
  const bar = (p: QoeReport['hourly'][number], value: number, text: string): Bar => ({
    value,
    tooltip: `${formatHour(Date.parse(p.hour))}: ${text} (${p.views} view${p.views === 1 ? '' : 's'})`,
    axisText: formatHour(Date.parse(p.hour)),
  });
  return {
    startup: barChartSvg(
      hourly.map((p) => bar(p, (p.startupP50Ms ?? 0) / 1000, `median startup ${seconds(p.startupP50Ms)}`)),
      { id: 'qoe-startup-title', title: 'Median startup time per hour', formatTick: (v) => `${v} s` },
    ),
    rebuffer: barChartSvg(
      hourly.map((p) => bar(p, (p.rebufferRatio ?? 0) * 100, `rebuffering ${percent(p.rebufferRatio)}`)),
      { id: 'qoe-rebuffer-title', title: 'Rebuffering per hour (stalled over watched time)', formatTick: (v) => `${v} %` },
    ),
  };
}

/** One bar per group (the 20 with the most views): its median startup. */
export function groupChart(groups: (QoeFigures & { key: string })[], by: string): string {
  const top = groups.slice(0, 20);
  const bars = top.map((g) => ({
    value: (g.startupP50Ms ?? 0) / 1000,
    tooltip: `${g.key}: median startup ${seconds(g.startupP50Ms)}, ${g.views} view${g.views === 1 ? '' : 's'}, rebuffering ${percent(g.rebufferRatio)}`,
    axisText: g.key,
    data: { key: g.key, views: g.views },
  }));
  return barChartSvg(bars, { id: `qoe-${by}-title`, title: `Median startup time by ${by}`, formatTick: (v) => `${v} s`, minSlots: 12 });
}
