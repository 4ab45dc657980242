/**
 * The content set of `npm run bench -- ladder`: six generated 1080p sources of very different complexity, made with
 * ffmpeg's lavfi sources (no downloads), stored like camera files (H.264, 2 s GOP, high quality) and cached by name
 * and length so reruns skip the generation.
 *
 * - slides: a slide deck with text, a new slide every 5 s (static between changes);
 * - screen: a code editor recording, scrolling in bursts;
 * - animation: flat-coloured shapes moving over a flat background;
 * - talking-head: a low-motion figure on a slowly changing gradient, with light sensor noise;
 * - sport: high motion (a rotating, hue-cycling test pattern) with heavy film grain;
 * - dark: a dark, low-contrast scene with a slow moving shape and faint noise.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export interface LadderSource {
  name: string;
  what: string;
  file: string;
}

const SANS = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const MONO = '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf';
/** drawtext's font: the DejaVu file when present (Debian's fonts-dejavu-core), else fontconfig's default. */
const font = (file: string, family: string) => (existsSync(file) ? `fontfile=${file}` : `font=${family}`);

/** 300 lines of code-like text (deterministic), for the slides and the screen recording. */
function codeText(): string {
  const words = 'const let return function await async import export from if else for while class interface type string number boolean null'.split(' ');
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const lines: string[] = [];
  for (let i = 1; i <= 300; i++) {
    const indent = ' '.repeat(4 * Math.floor(next() * 4));
    const n = 2 + Math.floor(next() * 8);
    lines.push(`${String(i).padStart(4)}  ${indent}${Array.from({ length: n }, () => words[Math.floor(next() * words.length)]).join(' ')}();`);
  }
  return lines.join('\n');
}

/** The lavfi inputs and filter graph of each source (1920×1080, 30 fps). */
function graphs(textFile: string): Record<string, { what: string; inputs: string[]; graph?: string }> {
  const sans = font(SANS, 'Sans');
  const mono = font(MONO, 'Mono');
  const color = (c: string, size: string) => ['-f', 'lavfi', '-i', `color=c=${c}:s=${size}:r=30`];
  return {
    slides: {
      what: 'static slides with text',
      inputs: [
        '-f', 'lavfi', '-i',
        `color=c=0xF4F4F0:s=1920x1080:r=30,drawbox=x=0:y=0:w=1920:h=140:color=0x1F3A5F:t=fill,` +
          `drawtext=${sans}:text='Quarterly review – part %{eif\\:floor(t/5)+1\\:d}':fontsize=64:fontcolor=white:x=80:y=36,` +
          `drawtext=${sans}:textfile=${textFile}:fontsize=40:fontcolor=0x222222:x=120:y=220-380*floor(t/5):line_spacing=18,` +
          'drawbox=x=1400:y=300:w=380:h=600:color=0x3A7BD5@0.9:t=fill',
      ],
    },
    screen: {
      what: 'screen recording, scrolling',
      inputs: [
        '-f', 'lavfi', '-i',
        `color=c=0x1E1E1E:s=1920x1080:r=30,drawtext=${mono}:textfile=${textFile}:fontsize=26:fontcolor=0xD4D4D4:x=90:` +
          "y=60-110*(floor(t/2)+min(mod(t\\,2)\\,1)):line_spacing=8,drawbox=x=0:y=0:w=1920:h=48:color=0x333333:t=fill,drawbox=x=0:y=48:w=70:h=1032:color=0x252526:t=fill",
      ],
    },
    animation: {
      what: 'animation with flat colours',
      inputs: [...color('0x87CEEB', '1920x1080'), ...color('0x3CB371', '1920x320'), ...color('0xE04040', '180x260'), ...color('0xFFD700', '240x240'), ...color('0xFFFFFF', '420x120')],
      graph: "[0][1]overlay=0:760[a];[a][4]overlay=x='mod(60*t,2400)-420':y=120[b];[b][3]overlay=x=1550:y=100[c];[c][2]overlay=x='mod(420*t,2300)-200':y='500-abs(260*sin(3*t))'",
    },
    'talking-head': {
      what: 'low-motion talking head, light sensor noise',
      inputs: ['-f', 'lavfi', '-i', 'gradients=s=1920x1080:c0=0x505868:c1=0x9098A8:speed=0.003:r=30', ...color('0xD9A58A', '420x560'), ...color('0x2A3A5A', '760x520'), ...color('0x803030', '120x30')],
      graph: "[0][2]overlay=x=580:y=640[a];[a][1]overlay=x='750+12*sin(1.3*t)':y='200+6*sin(0.7*t)'[b];[b][3]overlay=x='900+12*sin(1.3*t)':y='620+6*sin(0.7*t)':enable='lt(mod(t,0.4),0.2)',noise=alls=4:allf=t",
    },
    sport: {
      what: 'high motion with film grain',
      inputs: ['-f', 'lavfi', '-i', 'testsrc2=s=1920x1080:r=30,hue=H=2*PI*t/5,rotate=a=0.6*t:fillcolor=0x303030,noise=alls=14:allf=t+u'],
    },
    dark: {
      what: 'dark, low-contrast scene',
      inputs: ['-f', 'lavfi', '-i', 'gradients=s=1920x1080:c0=0x0C0E12:c1=0x1C2028:c2=0x14161C:n=3:speed=0.01:r=30', ...color('0x2A2E38', '300x500')],
      graph: "[0][1]overlay=x='400+150*sin(0.5*t)':y=380,noise=alls=3:allf=t",
    },
  };
}

export const SOURCE_NAMES = ['slides', 'screen', 'animation', 'talking-head', 'sport', 'dark'] as const;

/** Generates (or reuses) the sources of `seconds` each under `dir`, at `nice` 10 (the machine is shared). */
export async function ladderSources(dir: string, seconds: number, names: readonly string[] = SOURCE_NAMES, log: (line: string) => void = () => undefined): Promise<LadderSource[]> {
  mkdirSync(dir, { recursive: true });
  const textFile = path.join(dir, 'code.txt');
  writeFileSync(textFile, codeText());
  const all = graphs(textFile);
  const out: LadderSource[] = [];
  for (const name of names) {
    const spec = all[name];
    if (!spec) throw new Error(`unknown source ${name}; the set is ${SOURCE_NAMES.join(', ')}`);
    const file = path.join(dir, `${name}-${seconds}s.mp4`);
    if (!existsSync(file)) {
      log(`generating ${name} (${seconds} s, 1080p)`);
      const tmp = `${file}.part.mp4`;
      const graph = spec.graph ? ['-filter_complex', spec.graph] : [];
      // Stored like a camera file: high quality, 2 s GOP (the probe's seeks decode little before each window).
      const encode = ['-t', String(seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-maxrate', '40M', '-bufsize', '80M', '-g', '60', '-pix_fmt', 'yuv420p', '-an'];
      await execFileP('nice', ['-n', '10', 'ffmpeg', '-v', 'error', '-y', ...spec.inputs, ...graph, ...encode, tmp], { maxBuffer: 16 * 1024 * 1024 });
      renameSync(tmp, file);
    }
    out.push({ name, what: spec.what, file });
  }
  return out;
}
