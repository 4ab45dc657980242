/** The public video object returned by the API. */
import type { InferSelectModel } from 'drizzle-orm';
import type * as schema from '../../schema/schema';
import type { LadderMode, VideoCodec } from '../../schema/schema';

/** The stored ladder decision as the API shows it (workers/transcoding/ladder.ts writes it). */
export interface LadderDecisionView {
  mode: LadderMode;
  reason?: string | null;
  crf?: Record<string, number>;
  [more: string]: unknown;
}

export type VideoRow = InferSelectModel<typeof schema.videos>;
export type RenditionRow = InferSelectModel<typeof schema.renditions>;
export type JobRow = InferSelectModel<typeof schema.transcodeJobs>;
export type DownloadRow = InferSelectModel<typeof schema.mediaDownloads>;

/** Everything the API shows about one video; this is what the metadata cache stores. */
export interface VideoRecord {
  video: VideoRow;
  renditions: RenditionRow[];
  jobs: JobRow[];
  /** MP4 downloads (workers/downloads); absent where a listing does not load them. */
  downloads?: DownloadRow[];
  /** The import from a URL that fills the video (workers/imports), if it was imported. */
  importJob?: typeof schema.videoImports.$inferSelect | null;
}

/** One rung's measured stream facts as the transcoder recorded them: what the API shows and the master lists. */
export type RenditionFacts = Pick<RenditionRow, 'name' | 'width' | 'height' | 'bandwidth' | 'averageBandwidth' | 'codecs' | 'frameRate'>;

export const renditionFacts = ({ name, width, height, bandwidth, averageBandwidth, codecs, frameRate }: RenditionFacts): RenditionFacts => ({
  name,
  width,
  height,
  bandwidth,
  averageBandwidth,
  codecs,
  frameRate,
});

/**
 * The one reader of the `segmentDurations` column. Business rule: a rung is playable only when it is a non-empty
 * JSON array of positive finite seconds; anything else (a corrupt or half-written row) is `null`, never a throw.
 */
export function parseSegmentDurations(json: string): number[] | null {
  let durations: unknown;
  try {
    durations = JSON.parse(json);
  } catch {
    return null;
  }
  if (!Array.isArray(durations) || durations.length === 0) return null;
  return durations.every((d): d is number => typeof d === 'number' && Number.isFinite(d) && d > 0) ? durations : null;
}

export interface RenditionView extends RenditionFacts {
  segmentCount: number;
  duration: number;
  /** False while later chunks are still encoding (the playable prefix grows). */
  complete: boolean;
}

export interface VideoView {
  id: string;
  creatorId: string;
  status: VideoRow['status'];
  title: string;
  description: string;
  visibility: VideoRow['visibility'];
  duration: number | null;
  width: number | null;
  height: number | null;
  frameRate: number | null;
  renditions: RenditionView[];
  /** Per unit of transcoding work: status and 0..1 progress; encode chunks show their time range in seconds. */
  processing: { unit: string; status: string; progress: number; attempts: number; error: string | null; range?: [number, number] }[];
  error?: string;
  /** Creator-chosen poster frame (seconds), or null. */
  posterTime: number | null;
  /** Playback needs a signed token (default), or a public video also plays from an unsigned URL. */
  requireSignedURLs: boolean;
  /** Origins whose pages may play the video (every token for it); null: any. */
  allowedOrigins: string[] | null;
  /** When the video deletes itself (ISO time), or null. */
  scheduledDeletion: string | null;
  /** When the uploaded original was deleted under the platform's retention (ISO time), or null while it is kept. */
  originalDeletedAt: string | null;
  originalLanguage: string;
  /** For an instant clip: its source and the range of the source it plays (segment boundaries). */
  clip?: { sourceId: string; start: number; end: number };
  /** An imported video's fetch: the source URL, its state and progress (bytes), and the last error. */
  import?: { url: string; status: string; bytesFetched: number; totalBytes: number | null; attempts: number; error: string | null };
  /** How the video is encoded (chosen at creation) and how its ladder's rate control was decided (null: not yet). */
  ladderMode: VideoRow['ladderMode'];
  packaging: VideoRow['packaging'];
  codecs: VideoCodec[];
  ladder: LadderDecisionView | null;
  /** MP4 downloads: status and 0..1 progress per rung (the file itself: GET /v1/videos/:id/downloads). */
  downloads: { rendition: string; status: string; progress: number; method: string | null; size: number | null; error: string | null }[];
  viewCount: number;
  createdAt: string;
  updatedAt: string;
  readyAt: string | null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function parseJson<T>(json: string | null, fallback: T): T {
  if (json === null) return fallback;
  try {
    return JSON.parse(json) as T;
  } catch {
    return fallback;
  }
}

export function renditionView(r: RenditionRow): RenditionView {
  const durations = parseSegmentDurations(r.segmentDurations) ?? [];
  return { ...renditionFacts(r), segmentCount: r.segmentCount, duration: Math.round(durations.reduce((a, b) => a + b, 0) * 1000) / 1000, complete: r.complete };
}

export function videoView(record: VideoRecord): VideoView {
  const { video } = record;
  const view: VideoView = {
    id: video.id,
    creatorId: video.creatorId,
    status: video.status,
    title: video.title,
    description: video.description,
    visibility: video.visibility,
    duration: video.duration,
    width: video.width,
    height: video.height,
    frameRate: video.frameRate,
    // The audio rendition is part of every rung (its CODECS and BANDWIDTH include it), not a rung of its own.
    renditions: [...record.renditions].filter((r) => r.kind === 'video').sort((a, b) => a.height - b.height).map(renditionView),
    processing: record.jobs.map((j) => ({
      unit: j.unit,
      status: j.status,
      progress: j.progress,
      attempts: j.attempts,
      error: j.error,
      ...(j.rangeStart !== null ? { range: [j.rangeStart, j.rangeEnd ?? video.duration ?? j.rangeStart] as [number, number] } : {}),
    })),
    posterTime: video.posterTime ?? null,
    requireSignedURLs: video.requireSignedUrls,
    allowedOrigins: video.allowedOrigins ? (JSON.parse(video.allowedOrigins) as string[]) : null,
    scheduledDeletion: iso(video.scheduledDeletion),
    originalDeletedAt: iso(video.originalDeletedAt),
    originalLanguage: video.originalLanguage,
    ladderMode: video.ladderMode,
    packaging: video.packaging,
    codecs: parseJson<VideoCodec[]>(video.codecs, ['h264']),
    ladder: parseJson<LadderDecisionView | null>(video.ladder, null),
    downloads: (record.downloads ?? []).map((d) => ({ rendition: d.rendition, status: d.status, progress: d.progress, method: d.method, size: d.size, error: d.error })),
    viewCount: video.viewCount,
    createdAt: iso(video.createdAt) ?? '',
    updatedAt: iso(video.updatedAt) ?? '',
    readyAt: iso(video.readyAt),
  };
  if (video.status === 'FAILED') view.error = video.error ?? 'processing failed';
  const imported = record.importJob;
  if (imported) view.import = { url: imported.url, status: imported.status, bytesFetched: imported.bytesFetched, totalBytes: imported.totalBytes, attempts: imported.attempts, error: imported.error };
  if (video.clipOf && video.clipStart !== null && video.clipEnd !== null) view.clip = { sourceId: video.clipOf, start: video.clipStart, end: video.clipEnd };
  return view;
}
