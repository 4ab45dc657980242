import { describe, expect, it } from 'vitest';
import { stderrTail } from '../../containers/transcoder/src/errors';

describe('stderrTail (user-visible failure reasons)', () => {
  it('never shows the internal storage URL ffmpeg prefixes its messages with', () => {
    const stderr = [
      'ffprobe version 5.1.6',
      'http://127.0.0.1:8787/internal/storage/originals/vid_abc/original: Invalid data found when processing input',
      'frame=  10 fps=0.0 q=0.0 size=0kB',
    ].join('\n');
    const tail = stderrTail(stderr, 1);
    expect(tail).toBe('the upload: Invalid data found when processing input');
    expect(stderrTail(stderr)).not.toMatch(/internal\/storage|127\.0\.0\.1/);
  });

  it('keeps the last meaningful lines and drops progress lines', () => {
    expect(stderrTail('a\n\nb\nframe= 1\nc\nsize= 2', 2)).toBe('b | c');
  });
});
