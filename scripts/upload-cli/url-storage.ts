/**
 * tus-js-client URL storage in a small JSON file: the upload URL of each unfinished upload, keyed by the file's
 * fingerprint (absolute path, size, modification time, endpoint). Running the CLI again on the same file finds
 * it and resumes. Writes go to a temporary file and are renamed into place, so an interrupted write never leaves
 * a half-written state file.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PreviousUpload, UrlStorage } from 'tus-js-client';

interface StoredUpload extends PreviousUpload {
  fingerprint: string;
}

export function defaultStatePath(env: Record<string, string | undefined>): string {
  const base = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'edge-video', 'uploads.json');
}

export class JsonFileUrlStorage implements UrlStorage {
  constructor(readonly file: string) {}

  private read(): Record<string, StoredUpload> {
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.file, 'utf8'));
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, StoredUpload>) : {};
    } catch {
      return {};
    }
  }

  private write(entries: Record<string, StoredUpload>): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(entries, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  async findAllUploads(): Promise<PreviousUpload[]> {
    return Object.entries(this.read()).map(([key, upload]) => ({ ...upload, urlStorageKey: key }));
  }

  async findUploadsByFingerprint(fingerprint: string): Promise<PreviousUpload[]> {
    return (await this.findAllUploads()).filter((u) => (u as StoredUpload).fingerprint === fingerprint);
  }

  async removeUpload(urlStorageKey: string): Promise<void> {
    const entries = this.read();
    delete entries[urlStorageKey];
    this.write(entries);
  }

  async addUpload(fingerprint: string, upload: PreviousUpload): Promise<string> {
    const entries = this.read();
    const key = `tus::${fingerprint}::${Date.now()}${Math.random().toString(36).slice(2, 8)}`;
    entries[key] = { ...upload, fingerprint };
    this.write(entries);
    return key;
  }
}
