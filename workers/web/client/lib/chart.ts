/**
 * The stats page's charts: hourly views for the last 48 hours, and the QoE figures per hour and per group, as inline
 * SVG bar charts. Built as a string here
 * (pure, unit-tested) and inserted once; every label is escaped. Hours with no views are drawn as empty slots, so
 * the x axis is always 48 hours ending at the current hour, whose bar shows its live (not yet flushed) views.
 */
export interface HourPoint {
  /** Start of the hour, ms since the epoch. */
  hourMs: number;
  views: number;
  uniqueViewers: number | null;
}

const HOUR_MS = 3_600_000;

/** Accepts hours as ISO strings, epoch ms or epoch seconds (whatever the stats API returns) and fills gaps. */
export function last48Hours(hourly: { hour: string | number; views: number; uniqueViewers?: number }[], nowMs: number, hours = 48): HourPoint[] {
  const currentHour = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
  const byHour = new Map<number, { views: number; uniqueViewers: number | null }>();
  for (const point of hourly) {
    const ms = typeof point.hour === 'number' ? (point.hour < 1e11 ? point.hour * 1000 : point.hour) : Date.parse(point.hour);
    if (!Number.isFinite(ms)) continue;
    const bucket = Math.floor(ms / HOUR_MS) * HOUR_MS;
    const prev = byHour.get(bucket);
    byHour.set(bucket, {
      views: (prev?.views ?? 0) + point.views,
      uniqueViewers: point.uniqueViewers ?? prev?.uniqueViewers ?? null,
    });
  }
  const points: HourPoint[] = [];
  for (let i = hours - 1; i >= 0; i--) {
    const hourMs = currentHour - i * HOUR_MS;
    const found = byHour.get(hourMs);
    points.push({ hourMs, views: found?.views ?? 0, uniqueViewers: found?.uniqueViewers ?? null });
  }
  return points;
}

const escapeXml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** A "nice" axis maximum (1, 2, 5 × 10^n) so gridlines fall on round numbers. */
export function niceMax(value: number): number {
  if (value <= 1) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

/** Axis label font size (styles.css `.chart .axis`) and a generous average glyph width for it. */
const AXIS_FONT_PX = 11;
const GLYPH_EM = 0.62;
const LABEL_GAP = 10;

export interface AxisLabel {
  index: number;
  x: number;
  anchor: 'middle' | 'end';
  text: string;
  /** Horizontal extent the label occupies (estimated from its length), in viewBox units. */
  left: number;
  right: number;
}

/**
 * Which hours get an x-axis label, and where. The current hour (the last slot) is always labelled, anchored at its
 * end so it never runs past the plot; then every `step` slots leftwards, with `step` wide enough for the longest
 * label plus a gap, and any label that would still touch its right-hand neighbour dropped. Labels are as long as
 * the locale makes them ("14:00", "02:00 PM"), so the spacing comes from their length, not a fixed every-6-hours.
 */
export function axisLabels(texts: string[], plot: { left: number; right: number; slot: number }): AxisLabel[] {
  const widthOf = (t: string) => t.length * AXIS_FONT_PX * GLYPH_EM;
  const widest = Math.max(0, ...texts.map(widthOf));
  const step = Math.max(1, Math.ceil((widest + LABEL_GAP) / plot.slot));
  const labels: AxisLabel[] = [];
  let limit = Infinity;
  for (let i = texts.length - 1; i >= 0; i -= step) {
    const text = texts[i]!;
    const w = widthOf(text);
    const last = i === texts.length - 1;
    const x = last ? plot.right : plot.left + i * plot.slot + plot.slot / 2;
    const left = last ? x - w : x - w / 2;
    const right = last ? x : x + w / 2;
    if (right > limit || left < plot.left - plot.slot) continue;
    labels.push({ index: i, x, anchor: last ? 'end' : 'middle', text, left, right });
    limit = left - LABEL_GAP;
  }
  return labels.reverse();
}

/** One bar: its height's value, its hover text and its x-axis text. */
export interface Bar {
  value: number;
  tooltip: string;
  axisText: string;
  /** `data-*` attributes of the bar (tests and styles read them). */
  data?: Record<string, string | number>;
}

/**
 * The one bar chart of the stats page (views per hour, QoE per hour and per group): bars on a round axis with three
 * gridlines, every label escaped. `formatTick` writes the y-axis values (a count, seconds, a percentage).
 */
export function barChartSvg(bars: Bar[], options: { id: string; title: string; formatTick?: (value: number) => string; minSlots?: number }): string {
  const width = 720;
  const height = 240;
  const pad = { left: 48, right: 8, top: 12, bottom: 28 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const max = niceMax(Math.max(0, ...bars.map((b) => b.value)));
  // A few groups keep the width of a bar: they take the first slots of `minSlots`.
  const slot = plotW / Math.max(bars.length, options.minSlots ?? 1);
  const tick = options.formatTick ?? ((v: number) => String(v));
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${escapeXml(options.id)}" class="chart">`,
    `<title id="${escapeXml(options.id)}">${escapeXml(options.title)}</title>`,
  );
  for (const value of [0, max / 2, max]) {
    const y = pad.top + plotH - (value / max) * plotH;
    parts.push(
      `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" class="grid"/>`,
      `<text x="${pad.left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" class="axis">${escapeXml(tick(value))}</text>`,
    );
  }
  bars.forEach((b, i) => {
    const barH = (b.value / max) * plotH;
    const x = pad.left + i * slot + slot * 0.15;
    const data = Object.entries(b.data ?? {}).map(([k, v]) => ` data-${k}="${escapeXml(String(v))}"`).join('');
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${(pad.top + plotH - barH).toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${barH.toFixed(1)}" class="bar"${data}><title>${escapeXml(b.tooltip)}</title></rect>`,
    );
  });
  for (const label of axisLabels(bars.map((b) => b.axisText), { left: pad.left, right: pad.left + bars.length * slot, slot })) {
    parts.push(`<text x="${label.x.toFixed(1)}" y="${height - 8}" text-anchor="${label.anchor}" class="axis">${escapeXml(label.text)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}

export function hourlyChartSvg(points: HourPoint[], formatHour: (ms: number) => string): string {
  const total = points.reduce((sum, p) => sum + p.views, 0);
  const bars = points.map((p) => ({
    value: p.views,
    tooltip: `${formatHour(p.hourMs)}: ${p.views} view${p.views === 1 ? '' : 's'}${p.uniqueViewers !== null ? `, ${p.uniqueViewers} unique` : ''}`,
    axisText: formatHour(p.hourMs),
    data: { views: p.views },
  }));
  return barChartSvg(bars, { id: 'chart-title', title: `Views per hour over the last ${points.length} hours: ${total} in total` });
}
