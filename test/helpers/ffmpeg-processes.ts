/**
 * The transcoder's ffmpeg processes of a video, found by their command lines in /proc (processes the test's own
 * stack started), so a test can hold (SIGSTOP) or kill one unit's encoder at a point it controls.
 */
import { readdirSync, readFileSync } from 'node:fs';

export function findFfmpeg(videoId: string, match: (cmd: string[]) => boolean): number | null {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (cmd[0]?.endsWith('ffmpeg') && cmd.some((a) => a.includes(`originals/${videoId}/`)) && match(cmd)) return Number(pid);
    } catch {
      // the process ended while we looked
    }
  }
  return null;
}

/**
 * The ffmpeg encoding `videoId`'s chunk starting at `startSec`; with `alone`, only the unit that encodes the lowest
 * rung by itself (`split=1`).
 */
export function findChunkEncoder(videoId: string, startSec: number, alone = false): number | null {
  return findFfmpeg(videoId, (cmd) => {
    // `trim=start=S:end=E` for a chunk, `trim=start=S,` for the last one (open-ended).
    const graph = cmd.find((a) => a.includes(`trim=start=${startSec}:`) || a.includes(`trim=start=${startSec},`));
    return Boolean(graph && (!alone || graph.includes('split=1[')));
  });
}

/** The ffmpeg encoding `videoId`'s audio track (its graph starts with `asetpts`). */
export function findAudioEncoder(videoId: string): number | null {
  return findFfmpeg(videoId, (cmd) => cmd.some((a) => a.startsWith('[0:a:0]asetpts')));
}
