/**
 * Messages on the `transcode-jobs` queue: a discriminated union on `type`, dispatched by the consumer through an
 * exhaustive handler map. Every message names its video; handlers are idempotent (a redelivery upserts).
 */
export type TranscodeMessage = { type: 'analyze'; videoId: string };

export type TranscodeMessageType = TranscodeMessage['type'];
