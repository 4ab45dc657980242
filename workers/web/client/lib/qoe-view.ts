/** The stats page's QoE cards and group table (the charts: lib/qoe-charts.ts). */
import { h } from './dom';
import { formatBitrate, formatCount } from './format';
import { percent, seconds, type QoeFigures } from './qoe-charts';

export function qoeCards(t: QoeFigures): HTMLElement[] {
  const card = (label: string, value: string) => h('div', { class: 'card stat' }, h('span', { class: 'stat-label' }, label), h('span', { class: 'stat-value' }, value));
  return [
    card('Views with QoE', formatCount(t.views)),
    card('Startup p50 / p95', `${seconds(t.startupP50Ms)} / ${seconds(t.startupP95Ms)}`),
    card('Rebuffering', percent(t.rebufferRatio)),
    card('Failures', percent(t.failureRate)),
    card('Left before start', percent(t.exitBeforeStartRate)),
    card('Average bitrate', t.averageBitrate === null ? '–' : formatBitrate(t.averageBitrate)),
  ];
}

export function groupRows(groups: (QoeFigures & { key: string })[]): HTMLTableRowElement[] {
  return groups.map((g) =>
    h(
      'tr',
      {},
      h('td', {}, g.key),
      h('td', {}, formatCount(g.views)),
      h('td', {}, `${seconds(g.startupP50Ms)} / ${seconds(g.startupP95Ms)}`),
      h('td', {}, percent(g.rebufferRatio)),
      h('td', {}, percent(g.failureRate)),
      h('td', {}, percent(g.exitBeforeStartRate)),
      h('td', {}, g.averageBitrate === null ? '–' : formatBitrate(g.averageBitrate)),
    ),
  );
}
