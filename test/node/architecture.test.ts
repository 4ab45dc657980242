/**
 * The structure rules of docs/architecture.md, checked on the source as it is (scripts/architecture/analyze.ts):
 * imports point down the floors, no file imports itself back through others, workers/shared/ and abr/ depend on
 * nothing above them, each table has its one writer, queues are entered only through their typed `enqueue`, and
 * only loadConfig reads environment variables.
 */
import { describe, expect, it } from 'vitest';
import { ENV_VARS } from '../../workers/shared/config';
import { abrSources, circles, directQueueSends, floorViolations, importsOf, rawEnvReads, sharedImportsUp, tableWriters, videoStatusWriters, workerSources } from '../../scripts/architecture/analyze';

const workers = workerSources();

describe('architecture', () => {
  it('reads the whole Worker', () => {
    expect(workers.length).toBeGreaterThan(100);
    expect(workers.some((f) => f.path === 'workers/shared/config.ts')).toBe(true);
  });

  it('every import points to a lower floor (no sideways or upward arrow between areas)', () => {
    expect(floorViolations(workers)).toEqual([]);
  });

  it('no circle of imports between files, in workers/ or abr/', () => {
    expect(circles([...workers, ...abrSources()])).toEqual([]);
  });

  it('workers/shared/ imports no area; abr/ imports nothing from workers/', () => {
    expect(sharedImportsUp(workers)).toEqual([]);
    expect(abrSources().flatMap((f) => importsOf(f).filter((t) => t.startsWith('workers/')).map((t) => `${f.path} → ${t}`))).toEqual([]);
  });

  it('one writer per table; the videos row by column owner (status: the state machine)', () => {
    const writers = tableWriters(workers);
    const many = Object.entries(writers).filter(([table, files]) => table !== 'videos' && files.length !== 1);
    expect(many).toEqual([]);
    expect(writers.transcode_jobs).toEqual(['workers/transcoding/jobs.ts']);
    expect(writers.media_downloads).toEqual(['workers/downloads/repo.ts']);
    // status and inserts: video-state.ts; edits and analysis facts: metadata/repo.ts; view_count: the views flush.
    expect(writers.videos).toEqual(['workers/metadata/repo.ts', 'workers/metadata/video-state.ts', 'workers/views/flush.ts']);
    expect(videoStatusWriters(workers)).toEqual(['workers/metadata/video-state.ts']);
  });

  it('queues are entered only through the enqueue functions next to their message types', () => {
    expect(directQueueSends(workers)).toEqual([]);
  });

  it('only loadConfig reads environment variables', () => {
    expect(rawEnvReads(workers, ENV_VARS)).toEqual([]);
  });
});
