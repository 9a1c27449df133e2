// Drives the real `trit serve` (tiny random-weight model) with the official `openai` npm client and plain fetch:
// OpenAI and llama-server endpoints, greedy determinism across streaming and concurrency, errors, API keys.
// Run: TRIT_BINARY=build/release/trit node --test tests/server/js/openai_client.test.mjs
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, test} from 'node:test';
import OpenAI from 'openai';

import {startServer, tritBinary} from './server.mjs';

const kTimeout = {
  timeout: 120000
};

function client_for(server, apiKey = server.apiKey || 'sk-no-key-needed') {
  return new OpenAI({baseURL: server.baseURL, apiKey, maxRetries: 0, timeout: 60000});
}

// Plain text of a (non-)streamed completion, with its finish reason.
async function complete(client, body) {
  const response = await client.completions.create(body);
  return {text: response.choices[0].text, finish_reason: response.choices[0].finish_reason, usage: response.usage};
}

async function complete_streamed(client, body) {
  const stream = await client.completions.create(Object.assign({}, body, {stream: true}));
  let text = '';
  let finish_reason = null;
  let n_chunks = 0;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    text += choice.text || '';
    if (choice.finish_reason) finish_reason = choice.finish_reason;
    n_chunks += 1;
  }
  return {text, finish_reason, n_chunks};
}

async function chat(client, body) {
  const response = await client.chat.completions.create(body);
  const choice = response.choices[0];
  return {
    text: choice.message.content,
    role: choice.message.role,
    finish_reason: choice.finish_reason,
    usage: response.usage
  };
}

async function chat_streamed(client, body) {
  const stream = await client.chat.completions.create(Object.assign({}, body, {stream: true}));
  let text = '';
  let finish_reason = null;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    text += (choice.delta && choice.delta.content) || '';
    if (choice.finish_reason) finish_reason = choice.finish_reason;
  }
  return {text, finish_reason};
}

// An OpenAI-shaped error body: {error: {message, type, code}}.
// `status`: the status expected, or any 4xx when left out.
async function assert_openai_error(response, what, status = null) {
  if (status === null) {
    assert.ok(response.status >= 400 && response.status < 500, `${what}: status ${response.status} is not 4xx`);
  } else {
    assert.equal(response.status, status, `${what}: status`);
  }
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch (e) {
    assert.fail(`${what}: error body is not JSON: ${text.slice(0, 200)}`);
  }
  assert.equal(typeof body.error, 'object', `${what}: no "error" object in ${text.slice(0, 200)}`);
  assert.equal(typeof body.error.message, 'string', `${what}: error.message is not a string`);
  assert.ok(body.error.message.length > 0, `${what}: empty error.message`);
  assert.equal(typeof body.error.type, 'string', `${what}: error.type is not a string`);
  assert.ok('code' in body.error, `${what}: error has no code`);
  return body.error;
}

async function assert_healthy(server) {
  const response = await fetch(server.url + '/health');
  assert.equal(response.status, 200);
  assert.equal((await response.json()).status, 'ok');
}

// Parses a whole Server-Sent Events body into the data strings of its events.
function sse_events(text) {
  return text.replace(/\r\n?/g, '\n')
      .split('\n\n')
      .map(
          (block) => block.split('\n')
                         .filter((line) => line.startsWith('data:'))
                         .map((line) => line.slice(5).replace(/^ /, ''))
                         .join('\n'))
      .filter((data) => data !== '');
}

function slot_is_busy(slot) {
  if ('is_processing' in slot) return Boolean(slot.is_processing);
  if ('state' in slot) return slot.state !== 0 && slot.state !== 'idle';
  throw new Error(`slot has neither is_processing nor state: ${JSON.stringify(slot)}`);
}

const kPrompts = Array.from(
    {length: 16},
    (_, i) => `Prompt ${i}:` +
        ' the quick brown fox'.repeat(1 + (i % 5)) + ` ${i * 7}`);

// 16 clients at once, each must get exactly the text a lone greedy request for its prompt gets; half stream.
async function check_concurrent_equals_lone(client) {
  const body = (prompt) => ({model: 'any', prompt, max_tokens: 16, temperature: 0});
  const lone = [];
  for (const prompt of kPrompts) lone.push((await complete(client, body(prompt))).text);
  const together = await Promise.all(kPrompts.map(
      (prompt, i) => i % 2 === 0 ? complete_streamed(client, body(prompt)) : complete(client, body(prompt))));
  for (let i = 0; i < kPrompts.length; ++i) {
    assert.equal(together[i].text, lone[i], `prompt ${i} (${i % 2 === 0 ? 'streamed' : 'not streamed'}) differs`);
  }
  // And the same for chat, all streamed.
  const chat_body = (prompt) =>
      ({model: 'any', messages: [{role: 'user', content: prompt}], max_tokens: 12, temperature: 0});
  const chat_lone = [];
  for (const prompt of kPrompts) chat_lone.push((await chat(client, chat_body(prompt))).text);
  const chat_together = await Promise.all(kPrompts.map((prompt) => chat_streamed(client, chat_body(prompt))));
  for (let i = 0; i < kPrompts.length; ++i)
    assert.equal(chat_together[i].text, chat_lone[i], `chat prompt ${i} differs`);
}

describe('trit serve --parallel 4', () => {
  let server;
  let client;
  before(async () => {
    server = await startServer({args: ['--parallel', '4', '-c', '256']});
    client = client_for(server);
  });
  after(async () => {
    if (server) await server.stop();
  });

  test('models.list names the served model', kTimeout, async () => {
    const list = await client.models.list();
    assert.ok(list.data.length >= 1, 'no models listed');
    assert.equal(typeof list.data[0].id, 'string');
    assert.ok(list.data[0].id.length > 0);
    assert.equal(list.data[0].object, 'model');
  });

  test('completions.create: greedy stream equals non-stream, max_tokens bounds it', kTimeout, async () => {
    const body = {model: 'any', prompt: 'Once upon a time', max_tokens: 24, temperature: 0};
    const plain = await complete(client, body);
    const again = await complete(client, body);
    const streamed = await complete_streamed(client, body);
    assert.equal(typeof plain.text, 'string');
    assert.equal(again.text, plain.text, 'greedy is not deterministic');
    assert.equal(streamed.text, plain.text, 'streamed text differs from non-streamed');
    assert.ok(['stop', 'length'].includes(plain.finish_reason), `finish_reason ${plain.finish_reason}`);
    assert.equal(streamed.finish_reason, plain.finish_reason);
    assert.ok(plain.usage.completion_tokens <= 24, `completion_tokens ${plain.usage.completion_tokens} > max_tokens`);
    assert.ok(plain.usage.prompt_tokens > 0);
    assert.equal(plain.usage.total_tokens, plain.usage.prompt_tokens + plain.usage.completion_tokens);
    if (plain.finish_reason === 'length') assert.equal(plain.usage.completion_tokens, 24);
  });

  test('chat.completions.create: greedy stream equals non-stream', kTimeout, async () => {
    const body = {
      model: 'any',
      max_tokens: 20,
      temperature: 0,
      messages: [
        {role: 'system', content: 'You are terse.'},
        {role: 'user', content: 'Name three colours.'},
      ]
    };
    const plain = await chat(client, body);
    const streamed = await chat_streamed(client, body);
    assert.equal(plain.role, 'assistant');
    assert.equal(typeof plain.text, 'string');
    assert.equal(streamed.text, plain.text, 'streamed chat text differs from non-streamed');
    assert.ok(['stop', 'length'].includes(plain.finish_reason), `finish_reason ${plain.finish_reason}`);
    assert.equal(streamed.finish_reason, plain.finish_reason);
    assert.ok(plain.usage.completion_tokens <= 20);
  });

  test('chat stream is SSE ending with data: [DONE]', kTimeout, async () => {
    const response = await server.fetch(
        '/v1/chat/completions',
        {json: {messages: [{role: 'user', content: 'hi'}], max_tokens: 8, temperature: 0, stream: true}});
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') || '', /text\/event-stream/);
    const events = sse_events(await response.text());
    assert.ok(events.length >= 2, `only ${events.length} events`);
    assert.equal(events[events.length - 1], '[DONE]');
    for (const data of events.slice(0, -1)) {
      const chunk = JSON.parse(data);
      assert.equal(chunk.object, 'chat.completion.chunk');
    }
  });

  test('16 concurrent clients each get their lone greedy text (--parallel 4)', kTimeout, async () => {
    await check_concurrent_equals_lone(client);
  });

  test('malformed JSON gets a 400 OpenAI error and the server stays up', kTimeout, async () => {
    for (const path of ['/v1/chat/completions', '/v1/completions']) {
      const response = await server.fetch(path, {
        method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: '{"messages": [{"role": "user", "content": "hi"'
      });
      assert.equal(response.status, 400, `${path}: status ${response.status}`);
      await assert_openai_error(response, `${path} malformed JSON`);
    }
    await assert_healthy(server);
  });

  test('wrong field types get a 4xx OpenAI error and the server stays up', kTimeout, async () => {
    const cases = [
      ['/v1/completions', {prompt: 'hi', max_tokens: 'x'}],
      ['/v1/chat/completions', {messages: [{role: 'user', content: 'hi'}], max_tokens: 'x'}],
      ['/v1/chat/completions', {messages: 'hi'}],
      ['/v1/chat/completions', {}],
      ['/v1/chat/completions', {messages: [{role: 'user', content: 'hi'}], temperature: 'hot'}],
      ['/v1/completions', {prompt: 'hi', stop: 5}],
      ['/v1/completions', {}],
      ['/v1/completions', [1, 2, 3]],
    ];
    for (const [path, body] of cases) {
      const response = await server.fetch(path, {json: body});
      await assert_openai_error(response, `${path} ${JSON.stringify(body)}`);
    }
    await assert_healthy(server);
  });

  test('a prompt longer than the context gets a 4xx OpenAI error and the server stays up', kTimeout, async () => {
    const long = 'the quick brown fox jumps over the lazy dog '.repeat(100);  // ~900 tokens > 256
    for (const [path, body] of [
             ['/v1/completions', {prompt: long, max_tokens: 4}],
             ['/v1/chat/completions', {messages: [{role: 'user', content: long}], max_tokens: 4}],
             ['/v1/completions', {prompt: long, max_tokens: 4, stream: true}],
    ]) {
      const response = await server.fetch(path, {json: body});
      await assert_openai_error(response, `${path} oversize prompt`);
    }
    // The openai client reports it as an APIError with a 4xx status.
    await assert.rejects(client.completions.create({model: 'any', prompt: long, max_tokens: 4}), (error) => {
      assert.ok(error instanceof OpenAI.APIError, `not an APIError: ${error}`);
      assert.ok(error.status >= 400 && error.status < 500, `status ${error.status}`);
      return true;
    });
    await assert_healthy(server);
    const after_error = await complete(client, {model: 'any', prompt: 'still there?', max_tokens: 4, temperature: 0});
    assert.equal(typeof after_error.text, 'string');
  });

  test('unknown route gets 404', kTimeout, async () => {
    const response = await server.fetch('/v1/no-such-endpoint');
    assert.equal(response.status, 404);
  });

  test('stop strings cut the text, streamed or not', kTimeout, async () => {
    const body = {model: 'any', prompt: 'A list: one, two,', max_tokens: 24, temperature: 0};
    const {text} = await complete(client, body);
    assert.ok(text.length >= 6, `greedy text too short to pick a stop string from: ${JSON.stringify(text)}`);
    const stop = text.slice(3, 5);
    const expected = text.slice(0, text.indexOf(stop));
    const plain = await complete(client, Object.assign({}, body, {stop: [stop]}));
    assert.equal(plain.text, expected, `stop ${JSON.stringify(stop)}`);
    assert.equal(plain.finish_reason, 'stop');
    const streamed = await complete_streamed(client, Object.assign({}, body, {stop}));
    assert.equal(streamed.text, expected, `streamed, stop ${JSON.stringify(stop)}`);
    assert.equal(streamed.finish_reason, 'stop');
  });

  test('a seed makes sampling at temperature 1 repeatable', kTimeout, async () => {
    const body =
        {model: 'any', prompt: 'Random words:', max_tokens: 24, temperature: 1, top_k: 0, top_p: 1, seed: 1234};
    const first = await complete(client, body);
    const second = await complete(client, body);
    const streamed = await complete_streamed(client, body);
    assert.equal(second.text, first.text);
    assert.equal(streamed.text, first.text);
  });

  test('chat content given as text parts equals the plain string', kTimeout, async () => {
    const body = (content) => ({model: 'any', max_tokens: 12, temperature: 0, messages: [{role: 'user', content}]});
    const plain = await chat(client, body('Hello there'));
    const parts = await chat(client, body([{type: 'text', text: 'Hello '}, {type: 'text', text: 'there'}]));
    assert.equal(parts.text, plain.text);
  });

  test('a body over --max-body gets 413', kTimeout, async () => {
    const response = await server.fetch('/v1/completions', {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({prompt: 'x'.repeat(9 << 20)})
    });
    await assert_openai_error(response, 'a 9 MiB body', 413);
    await assert_healthy(server);
  });

  test('llama-server /completion n_probs returns candidate probabilities', kTimeout, async () => {
    const body = {prompt: 'Hello', n_predict: 3, n_probs: 2, temperature: 0};
    const streamed = await server.fetch('/completion', {json: Object.assign({}, body, {stream: true})});
    const chunks = sse_events(await streamed.text()).map((data) => JSON.parse(data)).filter((chunk) => !chunk.stop);
    for (const chunk of chunks) {
      assert.ok(
          Array.isArray(chunk.completion_probabilities),
          `streamed chunk without probabilities: ${JSON.stringify(chunk)}`);
      for (const entry of chunk.completion_probabilities) assert.equal(entry.probs.length, 2);
    }
    const response = await server.fetch('/completion', {json: body});
    assert.equal(response.status, 200);
    const plain = await response.json();
    assert.ok(
        Array.isArray(plain.completion_probabilities),
        `no completion_probabilities array in ${JSON.stringify(plain).slice(0, 300)}`);
    assert.equal(plain.completion_probabilities.length, plain.tokens_predicted);
  });

  test('llama-server /completion: stream equals non-stream, timings present', kTimeout, async () => {
    const body = {prompt: 'The capital of France is', n_predict: 16, temperature: 0, cache_prompt: false};
    const response = await server.fetch('/completion', {json: body});
    assert.equal(response.status, 200);
    const plain = await response.json();
    assert.equal(typeof plain.content, 'string');
    assert.ok(
        plain.tokens_predicted <= 16 && plain.tokens_predicted >= 1, `tokens_predicted ${plain.tokens_predicted}`);
    assert.ok(plain.tokens_evaluated > 0);
    assert.equal(plain.stop, true);
    assert.equal(typeof plain.stopped_eos, 'boolean');
    assert.equal(typeof plain.stopped_limit, 'boolean');
    assert.ok(plain.stopped_eos || plain.stopped_limit || plain.stopped_word);
    for (const key of ['prompt_n', 'prompt_ms', 'predicted_n', 'predicted_ms', 'predicted_per_second']) {
      assert.equal(typeof plain.timings[key], 'number', `timings.${key}`);
    }
    assert.equal(plain.timings.predicted_n, plain.tokens_predicted);

    const streamed = await server.fetch('/completion', {json: Object.assign({}, body, {stream: true})});
    assert.equal(streamed.status, 200);
    const chunks = sse_events(await streamed.text()).map((data) => JSON.parse(data));
    assert.ok(chunks.length >= 2, `only ${chunks.length} chunks`);
    const last = chunks[chunks.length - 1];
    assert.equal(last.stop, true);
    for (const chunk of chunks.slice(0, -1)) assert.equal(chunk.stop, false);
    assert.equal(chunks.map((chunk) => chunk.content || '').join(''), plain.content);
  });

  test('llama-server /tokenize and /detokenize round trip', kTimeout, async () => {
    const text = 'Hello world, héllo wörld 123';
    const tokenized = await (await server.fetch('/tokenize', {json: {content: text}})).json();
    assert.ok(Array.isArray(tokenized.tokens) && tokenized.tokens.length > 0);
    for (const token of tokenized.tokens) assert.ok(Number.isInteger(token), `token ${JSON.stringify(token)}`);
    const detokenized = await (await server.fetch('/detokenize', {json: {tokens: tokenized.tokens}})).json();
    // The dummy vocabulary has no "▁" token, so a space the SentencePiece tokenizer escapes to "▁" and cannot
    // match becomes the three byte tokens of "▁", which decode back to "▁" itself (as in llama.cpp).
    assert.equal(detokenized.content.replace(/\u2581/g, ' ').replace(/^ /, ''), text);
    // Token ids are accepted as a prompt too.
    const response =
        await server.fetch('/completion', {json: {prompt: tokenized.tokens, n_predict: 4, temperature: 0}});
    assert.equal(response.status, 200);
    assert.ok((await response.json()).tokens_evaluated >= tokenized.tokens.length);
  });

  test('/metrics is Prometheus text, /props and /slots are JSON', kTimeout, async () => {
    const metrics = await server.fetch('/metrics');
    assert.equal(metrics.status, 200);
    const text = await metrics.text();
    assert.match(text, /^# (HELP|TYPE) \S+/m, 'no # HELP / # TYPE lines');
    const samples = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    assert.ok(samples.length > 0, 'no samples');
    for (const line of samples) {
      assert.match(
          line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? ([-+]?[0-9.eE+-]+|NaN|[-+]?Inf)( \d+)?$/,
          `not a Prometheus sample line: ${line}`);
    }
    const props = await server.fetch('/props');
    assert.equal(props.status, 200);
    assert.equal(typeof (await props.json()), 'object');
    const slots = await (await server.fetch('/slots')).json();
    assert.ok(Array.isArray(slots), '/slots is not an array');
    assert.equal(slots.length, 4);
  });

  test('GET / serves the chat page, /app.js and /style.css', kTimeout, async () => {
    const page = await fetch(server.url + '/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') || '', /text\/html/);
    assert.match(await page.text(), /id="prompt"/);
    for (const [path, type] of [['/app.js', /javascript/], ['/style.css', /text\/css/]]) {
      const response = await fetch(server.url + path);
      assert.equal(response.status, 200, path);
      assert.match(response.headers.get('content-type') || '', type, path);
    }
  });
});

describe('trit serve --parallel 16', () => {
  let server;
  before(async () => {
    server = await startServer({args: ['--parallel', '16', '-c', '256']});
  });
  after(async () => {
    if (server) await server.stop();
  });

  test('16 concurrent clients each get their lone greedy text (--parallel 16)', kTimeout, async () => {
    await check_concurrent_equals_lone(client_for(server));
  });
});

describe('trit serve --parallel 1 --queue-size 1', () => {
  let server;
  let dir;
  before(async () => {
    // A request must run long enough (seconds) to be aborted or queued behind: the tiny model writes
    // 1900 tokens in a fraction of a second, so these tests use the 125M shape (milliseconds per token)
    // and a long context.
    dir = mkdtempSync(join(tmpdir(), 'trit-js-queue-'));
    const model = join(dir, 'm125.gguf');
    execFileSync(tritBinary, ['gen-dummy', '--shape', '125M', '-q', '-o', model], {stdio: 'pipe'});
    server = await startServer({model, args: ['--parallel', '1', '-c', '2048', '--queue-size', '1']});
  });
  after(async () => {
    if (server) await server.stop();
    if (dir) rmSync(dir, {recursive: true, force: true});
  });

  async function wait_slots_idle(what) {
    const deadline = Date.now() + 5000;
    for (;;) {
      const slots = await (await server.fetch('/slots')).json();
      if (!slots.some(slot_is_busy)) return slots;
      assert.ok(Date.now() < deadline, `${what}: slot still busy 5 s after the abort: ${JSON.stringify(slots)}`);
      await new Promise((resolve_wait) => setTimeout(resolve_wait, 20));
    }
  }

  test('a client that aborts mid-stream frees its slot', kTimeout, async () => {
    const client = client_for(server);
    const n_predict = 1900;
    for (const kind of ['completions', 'chat']) {
      const stream = kind === 'completions' ?
          await client.completions.create(
              {model: 'any', prompt: 'Count:', max_tokens: n_predict, temperature: 0, stream: true, ignore_eos: true}) :
          await client.chat.completions.create({
            model: 'any',
            messages: [{role: 'user', content: 'Count'}],
            max_tokens: n_predict,
            temperature: 0,
            stream: true,
            ignore_eos: true
          });
      let n_chunks = 0;
      for await (const chunk of stream) {
        void chunk;
        if (++n_chunks >= 3) break;  // leaving the loop aborts the HTTP request
      }
      assert.equal(n_chunks, 3);
      const slots = await wait_slots_idle(kind);
      if ('n_decoded' in slots[0]) {
        assert.ok(slots[0].n_decoded < n_predict, `${kind}: the slot decoded all ${slots[0].n_decoded} tokens`);
      }
      const next = await complete(client, {model: 'any', prompt: 'next', max_tokens: 4, temperature: 0});
      assert.equal(typeof next.text, 'string', `${kind}: following request failed`);
    }
    await assert_healthy(server);
  });

  test('with the slot busy and the queue full, requests get 503', kTimeout, async () => {
    const controller = new AbortController();
    const busy = await server.fetch('/completion', {
      json: {prompt: 'Busy:', n_predict: 1900, ignore_eos: true, temperature: 0, stream: true},
      signal: controller.signal
    });
    assert.equal(busy.status, 200);
    const reader = busy.body.getReader();
    await reader.read();  // generating now
    const queued = server.fetch('/v1/completions', {json: {prompt: 'queued', max_tokens: 4, temperature: 0}});
    // Wait for the second request to be in the queue (llama.cpp's requests_deferred gauge), at most 2 s.
    for (const deadline = Date.now() + 2000; Date.now() < deadline;) {
      const metrics = await (await server.fetch('/metrics')).text();
      if (/^llamacpp:requests_deferred [1-9]/m.test(metrics)) break;
      await new Promise((resolve_wait) => setTimeout(resolve_wait, 20));
    }
    for (const [path, body] of [
             ['/v1/completions', {prompt: 'rejected', max_tokens: 4}],
             ['/v1/chat/completions', {messages: [{role: 'user', content: 'rejected'}]}]]) {
      const response = await server.fetch(path, {json: body});
      await assert_openai_error(response, `${path} with a full queue`, 503);
    }
    controller.abort();
    await reader.cancel().catch(() => {});
    const response = await queued;
    assert.equal(response.status, 200, 'the queued request failed');
    assert.equal(typeof (await response.json()).choices[0].text, 'string');
    await wait_slots_idle('after the queue test');
    await assert_healthy(server);
  });
});

describe('trit serve --api-key --cors-origin', () => {
  const key = 'sk-trit-test-key';
  const origin = 'http://example.test';
  let server;
  before(async () => {
    server = await startServer({args: ['--parallel', '2', '-c', '256', '--cors-origin', origin], apiKey: key});
  });
  after(async () => {
    if (server) await server.stop();
  });

  test('missing or wrong key gets 401, the right key works, /health is open', kTimeout, async () => {
    for (const [path, options] of [
             ['/v1/models', {}],
             ['/v1/chat/completions', {json: {messages: [{role: 'user', content: 'hi'}], max_tokens: 2}}],
             ['/v1/completions', {json: {prompt: 'hi', max_tokens: 2}}],
             ['/completion', {json: {prompt: 'hi', n_predict: 2}}],
             ['/tokenize', {json: {content: 'hi'}}],
             ['/slots', {}],
             ['/metrics', {}],
    ]) {
      // No header, a wrong key, and the right key without "Bearer ": all 401.
      for (const auth of [null, 'Bearer wrong-key', key]) {
        const headers = auth === null ? {} : {Authorization: auth};
        if (options.json) headers['Content-Type'] = 'application/json';
        const response = await fetch(server.url + path, {
          method: options.json ? 'POST' : 'GET',
          headers,
          body: options.json ? JSON.stringify(options.json) : undefined
        });
        assert.equal(response.status, 401, `${path} with Authorization ${JSON.stringify(auth)}`);
        if (path.startsWith('/v1/'))
          await assert_openai_error(response, `${path} 401`);
        else
          await response.arrayBuffer();
      }
    }
    await assert.rejects(client_for(server, 'wrong-key').models.list(), (error) => {
      assert.ok(error instanceof OpenAI.AuthenticationError, `not an AuthenticationError: ${error}`);
      assert.equal(error.status, 401);
      return true;
    });
    const client = client_for(server, key);
    assert.ok((await client.models.list()).data.length >= 1);
    const reply =
        await chat(client, {model: 'any', messages: [{role: 'user', content: 'hi'}], max_tokens: 4, temperature: 0});
    assert.equal(typeof reply.text, 'string');
    const tokenized = await server.fetch('/tokenize', {json: {content: 'hi'}});
    assert.equal(tokenized.status, 200);
    await assert_healthy(server);
  });

  test('--cors-origin answers preflights without the key and marks responses', kTimeout, async () => {
    const preflight = await fetch(server.url + '/v1/chat/completions', {
      method: 'OPTIONS',
      headers: {
        'Origin': origin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization, content-type'
      }
    });
    assert.ok(preflight.status === 200 || preflight.status === 204, `preflight status ${preflight.status}`);
    assert.equal(preflight.headers.get('access-control-allow-origin'), origin);
    assert.match(preflight.headers.get('access-control-allow-headers') || '', /authorization/i);
    assert.match(preflight.headers.get('access-control-allow-methods') || '', /POST/);
    const models = await fetch(server.url + '/v1/models', {headers: {Origin: origin, Authorization: `Bearer ${key}`}});
    assert.equal(models.status, 200);
    assert.equal(models.headers.get('access-control-allow-origin'), origin);
    // A 401 must carry the header too, or a browser page cannot read why it failed.
    const denied = await fetch(server.url + '/v1/models', {headers: {Origin: origin}});
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('access-control-allow-origin'), origin);
  });
});

describe('trit serve SIGTERM', () => {
  test('SIGTERM during a stream ends the stream, refuses new requests and exits 0', kTimeout, async () => {
    const server = await startServer({args: ['--parallel', '1', '-c', '2048', '--shutdown-timeout', '2']});
    let stopped = false;
    try {
      const response = await server.fetch(
          '/completion', {json: {prompt: 'Long:', n_predict: 1900, ignore_eos: true, temperature: 0, stream: true}});
      const reader = response.body.getReader();
      await reader.read();
      const stop = server.stop();
      stopped = true;
      // The stream ends (cleanly or cut off) rather than hanging.
      const drained = (async () => {
        try {
          while (!(await reader.read()).done) {
            // keep reading
          }
        } catch (e) {
          // cut off: fine
        }
      })();
      await stop;  // rejects unless the exit code is 0
      await drained;
      await assert.rejects(fetch(server.url + '/health'), 'the server still answers after exiting');
    } finally {
      if (!stopped) await server.stop();
    }
  });
});
