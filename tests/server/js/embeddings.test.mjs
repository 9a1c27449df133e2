// The official `openai` npm client's embeddings.create against the real `trit serve` on a tiny
// BitNet embedding model (Qwen3-style shape, random weights): float and base64 encodings, batches.
// Run: TRIT_BINARY=build/release/trit node --test tests/server/js/embeddings.test.mjs
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, test} from 'node:test';
import OpenAI from 'openai';

import {startServer, tritBinary} from './server.mjs';

const dir = mkdtempSync(join(tmpdir(), 'trit-js-embed-'));
const model = join(dir, 'embed.gguf');
let server;
let client;

before(async () => {
  execFileSync(tritBinary, ['gen-dummy', '--shape', 'embed-qwen3-tiny', '-q', '-o', model], {stdio: 'pipe'});
  server = await startServer({model, args: ['--parallel', '2']});
  client = new OpenAI({baseURL: server.baseURL, apiKey: 'sk-no-key-needed', maxRetries: 0, timeout: 60000});
});

after(async () => {
  if (server) await server.stop();
  rmSync(dir, {recursive: true, force: true});
});

const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

test('embeddings.create: one input, unit vector, usage', async () => {
  const r = await client.embeddings.create({model: 'embed', input: 'The quick brown fox', encoding_format: 'float'});
  assert.equal(r.object, 'list');
  assert.equal(r.data.length, 1);
  assert.ok(r.data[0].embedding.length > 0);
  assert.ok(Math.abs(norm(r.data[0].embedding) - 1) < 1e-5);
  assert.ok(r.usage.prompt_tokens > 0);
});

test('embeddings.create: a batch equals its inputs alone; base64 (the client default) decodes to the same', async () => {
  const inputs = ['first', 'second input, a little longer', 'third'];
  const batch = await client.embeddings.create({model: 'embed', input: inputs, encoding_format: 'float'});
  assert.equal(batch.data.length, inputs.length);
  for (let i = 0; i < inputs.length; ++i) {
    assert.equal(batch.data[i].index, i);
    const alone = await client.embeddings.create({model: 'embed', input: inputs[i], encoding_format: 'float'});
    assert.deepEqual(batch.data[i].embedding, alone.data[0].embedding);
    // Without encoding_format the client asks for base64 and decodes it to floats itself.
    const decoded = await client.embeddings.create({model: 'embed', input: inputs[i]});
    assert.deepEqual(Array.from(decoded.data[0].embedding), alone.data[0].embedding);
  }
});

test('embeddings.create: a bad input is a 400 the client reports', async () => {
  await assert.rejects(client.embeddings.create({model: 'embed', input: ''}), (e) => e.status === 400);
});
