/**
 * The embed page's postMessage API (docs/embed.md). The parent page sends commands to the frame:
 *
 *   { type: 'edge-video:command', command: 'play' | 'pause' }
 *   { type: 'edge-video:command', command: 'seek', time: <seconds ≥ 0> }
 *   { type: 'edge-video:command', command: 'setMuted', muted: <boolean> }
 *
 * and receives the player's events: { type: 'edge-video:event', event, videoId, …detail } for `ready` {duration},
 * `play`, `pause`, `timeupdate` {currentTime, duration}, `ended`, `error` {code, message} and `qualitychange`
 * {height, bitrate, level}.
 *
 * Only the parent window is listened to, and when the video (or its token) names allowed origins, only those; any
 * other message is ignored. A message of ours with a bad payload (an unknown command, a time that is not a number of
 * seconds, a muted that is not a boolean, an unknown field) is answered with an `error` event, code `bad_command`.
 */
export const COMMAND = 'edge-video:command';
export const EVENT = 'edge-video:event';

export type Command = { command: 'play' } | { command: 'pause' } | { command: 'seek'; time: number } | { command: 'setMuted'; muted: boolean };

export type CommandParse = { ok: true; command: Command } | { ok: false; message: string } | null;

const FIELDS: Record<Command['command'], string[]> = { play: [], pause: [], seek: ['time'], setMuted: ['muted'] };

/** A command, a refusal of a malformed one, or null for a message that is not ours (not answered at all). */
export function parseCommand(data: unknown): CommandParse {
  if (typeof data !== 'object' || data === null || (data as { type?: unknown }).type !== COMMAND) return null;
  const msg = data as Record<string, unknown>;
  const name = msg.command;
  if (typeof name !== 'string' || !Object.hasOwn(FIELDS, name)) return { ok: false, message: `command must be one of ${Object.keys(FIELDS).join(', ')}` };
  const allowed = new Set(['type', 'command', ...FIELDS[name as Command['command']]]);
  const extra = Object.keys(msg).filter((k) => !allowed.has(k));
  if (extra.length) return { ok: false, message: `unknown field(s) for ${name}: ${extra.join(', ')}` };
  switch (name as Command['command']) {
    case 'seek': {
      const time = msg.time;
      if (typeof time !== 'number' || !Number.isFinite(time) || time < 0) return { ok: false, message: 'seek needs time: a number of seconds ≥ 0' };
      return { ok: true, command: { command: 'seek', time } };
    }
    case 'setMuted':
      if (typeof msg.muted !== 'boolean') return { ok: false, message: 'setMuted needs muted: true or false' };
      return { ok: true, command: { command: 'setMuted', muted: msg.muted } };
    case 'play':
      return { ok: true, command: { command: 'play' } };
    case 'pause':
      return { ok: true, command: { command: 'pause' } };
  }
}

export interface BridgeTarget {
  play(): unknown;
  pause(): void;
  currentTime: number;
  muted: boolean;
}

/** Where events may be posted: the allowed origins (only the real parent's receives), or any origin without a list. */
export function eventOrigins(allowed: readonly string[] | null, ancestor: string | null): string[] {
  if (allowed === null) return [ancestor ?? '*'];
  if (ancestor !== null) return allowed.includes(ancestor) ? [ancestor] : [];
  return [...allowed];
}

export function listenForCommands(win: Window, target: BridgeTarget, allowed: readonly string[] | null, reply: (code: string, message: string, origin: string) => void): void {
  win.addEventListener('message', (event: MessageEvent) => {
    if (event.source !== win.parent || win.parent === win) return;
    if (allowed !== null && !allowed.includes(event.origin)) return;
    const parsed = parseCommand(event.data);
    if (parsed === null) return;
    if (!parsed.ok) return reply('bad_command', parsed.message, event.origin);
    const c = parsed.command;
    if (c.command === 'play') void target.play();
    else if (c.command === 'pause') target.pause();
    else if (c.command === 'seek') target.currentTime = c.time;
    else target.muted = c.muted;
  });
}
