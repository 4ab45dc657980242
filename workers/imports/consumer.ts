/**
 * The `video-imports` queue consumer: one import per message, run under the import row's lease.
 *
 *   claim ─▶ open the source (redirects checked, Range to resume) ─▶ stream parts into R2 ─▶ complete the
 *   multipart upload ─▶ the video goes to PROCESSING (`startProcessing`, as an upload's completion does)
 *
 * An invocation that used its budget hands over (`continue`: a new message at once). A transient failure (5xx, a
 * dropped or stalled connection, a source cut short) is retried with backoff up to `imports.maxAttempts`, resuming
 * where the stored parts end. A failure for good (4xx, a refused redirect, a limit, the time limit) aborts the
 * multipart upload and fails the video with the reason; nothing of it stays in R2.
 */
import type { Config } from '../shared/config';
import { loadConfig } from '../shared/config';
import { openDb, type Db } from '../shared/db';
import { backoffSeconds } from '../shared/leased-work';
import { logEvent } from '../shared/log';
import { runtime } from '../shared/runtime';
import { keys } from '../shared/storage-keys';
import { markUploadFailed } from '../metadata/video-state';
import { startProcessing } from '../transcoding/start';
import { bytesLeft, quotaState } from '../usage/quota';
import { enqueueImport, parseImportMessage, type ImportMessage } from './messages';
import { claimImport, completeImport, failImport, releaseImport, startMultipart, type ImportRow } from './repo';
import { openSource } from './source';
import { streamIntoOriginal, timeLimitReason } from './stream';

type Outcome = { status: 'ack' } | { status: 'again'; delaySeconds: number };

async function abortMultipart(env: Pick<Env, 'MEDIA'>, row: ImportRow): Promise<void> {
  if (!row.r2UploadId) return;
  await env.MEDIA.resumeMultipartUpload(keys.original(row.videoId), row.r2UploadId)
    .abort()
    .catch((err: unknown) => console.warn(`abort of import ${row.videoId} failed`, err));
}

/** Fails the import and its video for good; its bytes go. */
async function failForGood(env: Env, db: Db, row: ImportRow, reason: string): Promise<Outcome> {
  await abortMultipart(env, row);
  await failImport(db, row.videoId, reason);
  await markUploadFailed(env, db, row.videoId, `import failed: ${reason}`);
  logEvent('warn', 'import.failed', { videoId: row.videoId, reason });
  return { status: 'ack' };
}

async function retryLater(env: Env, db: Db, config: Config, row: ImportRow, reason: string): Promise<Outcome> {
  if (row.attempts >= config.imports.maxAttempts) return failForGood(env, db, row, `${reason} (after ${row.attempts} attempts)`);
  await releaseImport(db, row, reason);
  return { status: 'again', delaySeconds: backoffSeconds(row.attempts, config.imports.retryBaseDelaySec, config.imports.retryMaxDelaySec) };
}

async function runImport(env: Env, db: Db, config: Config, message: ImportMessage): Promise<Outcome> {
  const claim = await claimImport(db, message.videoId, config.imports.leaseMs);
  if (claim.status === 'busy') return { status: 'again', delaySeconds: Math.ceil(claim.leaseRemainingMs / 1000) + 1 };
  if (claim.status !== 'claimed') return { status: 'ack' };
  let row = claim.row;
  if (runtime().now() > row.deadline) return failForGood(env, db, row, timeLimitReason(config));

  const controller = new AbortController();
  const opened = await openSource(config, row, controller.signal);
  if (opened.status === 'fail') return failForGood(env, db, row, opened.reason);
  if (opened.status === 'retry') return retryLater(env, db, config, row, opened.reason);
  const limits = { maxBytes: config.uploads.maxFileSize, quotaBytes: bytesLeft(await quotaState(db, row.creatorId)) };
  if (opened.total !== null && opened.total > limits.maxBytes) {
    await opened.response.body?.cancel();
    return failForGood(env, db, row, `the source is ${opened.total} bytes, larger than the largest upload accepted (${limits.maxBytes})`);
  }
  if (opened.total !== null && opened.total > limits.quotaBytes) {
    await opened.response.body?.cancel();
    return failForGood(env, db, row, `quota_exceeded: the source is ${opened.total} bytes, more than the creator's bytes quota still allows (${limits.quotaBytes})`);
  }
  if (opened.offset === 0 && (row.bytesFetched > 0 || !row.r2UploadId)) {
    // A first fetch, or a source that cannot resume: a fresh multipart upload from byte 0.
    await abortMultipart(env, row);
    const multipart = await env.MEDIA.createMultipartUpload(keys.original(row.videoId));
    await startMultipart(db, row, multipart.uploadId, opened.validator, opened.total);
    row = { ...row, r2UploadId: multipart.uploadId, validator: opened.validator, totalBytes: opened.total, bytesFetched: 0, parts: '[]' };
  }
  const resumable = opened.validator !== null;
  const streamed = await streamIntoOriginal(env, db, config, row, opened.response.body!, opened.total ?? row.totalBytes, resumable, limits);
  switch (streamed.status) {
    case 'lost':
      return { status: 'ack' };
    case 'continue':
      await releaseImport(db, row, 'continuing in the next invocation');
      return { status: 'again', delaySeconds: 0 };
    case 'retry':
      return retryLater(env, db, config, { ...row, attempts: row.attempts }, streamed.reason);
    case 'fail':
      return failForGood(env, db, row, streamed.reason);
    case 'done': {
      const multipart = env.MEDIA.resumeMultipartUpload(keys.original(row.videoId), row.r2UploadId!);
      await multipart.complete(streamed.parts);
      const head = await env.MEDIA.head(keys.original(row.videoId));
      if (head?.size !== streamed.size) return failForGood(env, db, row, `the stored original is ${head?.size ?? 0} bytes, not ${streamed.size}`);
      await completeImport(db, row);
      await startProcessing(env, db, row.videoId, { sourceSize: streamed.size });
      logEvent('info', 'import.done', { videoId: row.videoId, bytes: streamed.size });
      return { status: 'ack' };
    }
  }
}

export async function handleImportBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const config = loadConfig(env);
  const db = openDb(env.DB);
  for (const msg of batch.messages) {
    const message = parseImportMessage(msg.body);
    if (!message) {
      console.error(`poison message ${msg.id} on ${batch.queue}: ${JSON.stringify(msg.body).slice(0, 300)}`);
      msg.ack();
      continue;
    }
    let outcome: Outcome;
    try {
      outcome = await runImport(env, db, config, message);
    } catch (err) {
      // Unexpected (D1 or R2 down): the row's lease lapses and the message comes back.
      console.error(`import of ${message.videoId} failed unexpectedly`, err);
      msg.retry({ delaySeconds: config.imports.retryBaseDelaySec });
      continue;
    }
    if (outcome.status === 'again') await enqueueImport(env, message, { delaySeconds: outcome.delaySeconds });
    msg.ack();
  }
}

