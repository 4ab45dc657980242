/**
 * The browser's side of the public API. The creator's token lives in localStorage (this app has no sign-in cookie:
 * the API is token-based, and the token is what `npm start` / an operator hands out). Every call sends it as
 * `Authorization: Bearer …`; a 401 means the token was revoked or never valid, and pages send the creator back to
 * the sign-in form with that reason.
 */
const TOKEN_KEY = 'edge-video.token';

export function getToken(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string): void {
  localStorage.setItem(TOKEN_KEY, token.trim());
}

export function clearToken(): void {
  localStorage.removeItem(TOKEN_KEY);
}

export function authHeaders(): Record<string, string> {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
  get isAuth(): boolean {
    return this.status === 401;
  }
}

/** Parses the platform's `{ error: { code, message } }` shape; anything else keeps the HTTP status text. */
async function failureFrom(res: Response): Promise<ApiFailure> {
  let code = 'http_error';
  let message = `${res.status} ${res.statusText}`.trim();
  try {
    const body = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiFailure(res.status, code, message);
}

export async function api<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const headers = new Headers(init.headers);
  for (const [k, v] of Object.entries(authHeaders())) if (!headers.has(k)) headers.set(k, v);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    body = JSON.stringify(init.json);
  }
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers, body });
  } catch {
    throw new ApiFailure(0, 'network', 'The server could not be reached. Check your connection and try again.');
  }
  if (!res.ok) throw await failureFrom(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** Where a page sends the creator when there is no token or it stopped working. */
export function signInUrl(reason: 'missing' | 'expired'): string {
  const next = location.pathname + location.search;
  return `/signin?reason=${reason}&next=${encodeURIComponent(next)}`;
}

/** For pages that need a creator: redirects to sign-in (keeping the way back) and returns false. */
export function requireToken(): boolean {
  if (getToken()) return true;
  location.assign(signInUrl('missing'));
  return false;
}

/** Handles a failure common to every page: an expired or unknown token sends the creator to sign in again. */
export function handleAuthFailure(err: unknown): boolean {
  if (err instanceof ApiFailure && err.isAuth) {
    clearToken();
    location.assign(signInUrl('expired'));
    return true;
  }
  return false;
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiFailure) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The video object of `GET /v1/videos/:id` (the fields the pages use). */
export interface Video {
  id: string;
  status: 'UPLOADING' | 'PROCESSING' | 'READY' | 'FAILED' | 'DELETED';
  title: string;
  description: string;
  visibility?: string;
  duration: number | null;
  width: number | null;
  height: number | null;
  renditions: { name: string; width: number; height: number; bandwidth: number }[];
  processing: { unit: string; status: string; progress: number; attempts: number; error: string | null }[];
  error?: string;
  viewCount: number;
  createdAt: string;
}

export interface VideoStats {
  views: number;
  uniqueViewers: number;
  hourly: { hour: string | number; views: number; uniqueViewers?: number }[];
}

export interface Playback {
  url: string;
  expiresAt?: string | number;
  /** Playback session token for view beacons. */
  session: string;
}
