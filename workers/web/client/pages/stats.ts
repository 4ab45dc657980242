/**
 * Stats: total views, unique viewers, and hourly views for the last 48 hours as an inline SVG chart and a table; then
 * the video's quality of experience (lib/qoe-view.ts) over the same hours, per hour and by country and browser.
 */
import { api, errorMessage, handleAuthFailure, requireToken, type Video, type VideoStats } from '../lib/api';
import { hourlyChartSvg, last48Hours } from '../lib/chart';
import { initChrome } from '../lib/chrome';
import { announce, byId, h, pageConfig } from '../lib/dom';
import { formatCount } from '../lib/format';
import { groupChart, hourlyQoeCharts, type QoeReport } from '../lib/qoe-charts';
import { groupRows, qoeCards } from '../lib/qoe-view';

const config = pageConfig<{ videoId: string }>();
const base = `/v1/videos/${encodeURIComponent(config.videoId)}`;
const HOUR_MS = 3_600_000;
const status = byId('stats-status');
const now = Date.now();
const from = new Date(Math.floor(now / HOUR_MS) * HOUR_MS - 47 * HOUR_MS).toISOString();
const to = new Date(now).toISOString();

initChrome();
byId<HTMLAnchorElement>('stats-watch').href = `/watch/${encodeURIComponent(config.videoId)}`;
if (requireToken()) void load();

async function load(): Promise<void> {
  try {
    const [video, stats] = await Promise.all([
      api<Video>(base),
      api<VideoStats>(`${base}/stats?${new URLSearchParams({ from, to })}`),
    ]);
    render(video, stats, now);
  } catch (err) {
    if (!handleAuthFailure(err)) announce(status, `Could not load stats: ${errorMessage(err)}`, 'error');
    return;
  }
  try {
    const range = new URLSearchParams({ from, to });
    const [all, byCountry, byBrowser] = await Promise.all(
      ['', '&by=country', '&by=browser'].map((by) => api<QoeReport>(`${base}/qoe?${range}${by}`)),
    );
    renderQoe(all!, byCountry!, byBrowser!);
  } catch (err) {
    if (!handleAuthFailure(err)) announce(byId('qoe-status'), `Could not load quality of experience: ${errorMessage(err)}`, 'error');
  }
}

function renderQoe(all: QoeReport, byCountry: QoeReport, byBrowser: QoeReport): void {
  byId('qoe-cards').replaceChildren(...qoeCards(all.totals));
  const formatHour = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  // The charts are built as escaped SVG text (lib/chart.ts), as the views chart.
  const hourly = hourlyQoeCharts(all.hourly.slice(-48), formatHour);
  byId('qoe-startup-chart').innerHTML = hourly.startup;
  byId('qoe-rebuffer-chart').innerHTML = hourly.rebuffer;
  const countries = byCountry.breakdown?.groups ?? [];
  const browsers = byBrowser.breakdown?.groups ?? [];
  byId('qoe-country-chart').innerHTML = groupChart(countries, 'country');
  byId('qoe-browser-chart').innerHTML = groupChart(browsers, 'browser');
  const body = byId('qoe-table').querySelector('tbody')!;
  body.replaceChildren(...groupRows([...countries, ...browsers]));
  if (!body.children.length) body.append(h('tr', {}, h('td', { colspan: 7 }, 'No player has reported yet.')));
}

function render(video: Video, stats: VideoStats, now: number): void {
  document.title = `Stats: ${video.title} · edge-video`;
  byId('stats-title').textContent = `Stats: ${video.title}`;
  byId('stat-views').textContent = formatCount(stats.views);
  byId('stat-unique').textContent = formatCount(stats.uniqueViewers);
  const points = last48Hours(stats.hourly, now);
  const formatHour = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  // hourlyChartSvg escapes every label; the rest is numbers.
  byId('chart').innerHTML = hourlyChartSvg(points, formatHour);
  const body = byId('hourly-table').querySelector('tbody')!;
  body.replaceChildren(
    ...points
      .filter((p) => p.views > 0)
      .reverse()
      .map((p) =>
        h(
          'tr',
          {},
          h('td', {}, new Date(p.hourMs).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' })),
          h('td', {}, formatCount(p.views)),
          h('td', {}, p.uniqueViewers === null ? '–' : formatCount(p.uniqueViewers)),
        ),
      ),
  );
  if (!body.children.length) body.append(h('tr', {}, h('td', { colspan: 3 }, 'No views in the last 48 hours yet.')));
}
