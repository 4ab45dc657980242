import { CreateVideoSchema } from '../metadata/schemas';
import { z } from '../shared/openapi';

export const CopyVideoSchema = CreateVideoSchema.extend({
  url: z
    .string({ error: 'url is required: the http(s) address of the video file' })
    .min(1, 'url is required: the http(s) address of the video file')
    .max(2048, 'url must be at most 2048 characters')
    .openapi({ example: 'https://media.example.com/talk.mp4' }),
}).openapi('CopyVideo');
