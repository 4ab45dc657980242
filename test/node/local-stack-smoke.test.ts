import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/local-stack';

describe('local stack (wrangler dev on Miniflare, state on disk)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('serves the API with D1 migrations applied and a bootstrapped creator', async () => {
    const created = await fetch(`${stack.origin}/v1/videos`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${stack.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'smoke' }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const read = await fetch(`${stack.origin}/v1/videos/${id}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id, status: 'UPLOADING', title: 'smoke' });
  });

  it('keeps data across a worker restart', async () => {
    const created = await fetch(`${stack.origin}/v1/videos`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${stack.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'persisted' }),
    });
    const { id } = (await created.json()) as { id: string };
    await stack.restartWorker();
    const read = await fetch(`${stack.origin}/v1/videos/${id}`);
    expect(read.status).toBe(200);
  });
});
