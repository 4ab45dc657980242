/** Human-readable numbers for the pages. Pure functions (unit-tested in test/node/web-client-units.test.ts). */
import { formatBitrate } from '../../../../player/src/format';

export { formatBitrate, formatClock } from '../../../../player/src/format';

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** Bytes per second as bits per second, the way networks are quoted (Mbit/s). */
export function formatRate(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return '–';
  return formatBitrate(bytesPerSecond * 8);
}

/** Time left in words: "about 2 min", "12 s". */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return 'estimating…';
  if (seconds < 1) return 'less than a second';
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  if (seconds < 3600) return `about ${Math.round(seconds / 60)} min`;
  const hours = Math.floor(seconds / 3600);
  return `about ${hours} h ${Math.round((seconds % 3600) / 60)} min`;
}

export function formatCount(n: number): string {
  return new Intl.NumberFormat('en').format(n);
}
