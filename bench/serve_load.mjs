#!/usr/bin/env node
// Load client for `trit serve`: N concurrent clients each send K streamed completions of a fixed length and the
// totals print as a markdown table (total generated tokens/s, latency and time-to-first-token percentiles).
//
// Usage (Node >= 18, no npm packages needed):
//   node bench/serve_load.mjs --url http://127.0.0.1:8080                # a server already running
//   node bench/serve_load.mjs --model model.gguf [--binary build/release/trit] [--threads 4] [--ctx 512]
//                                                                         # starts `trit serve --parallel <max N>`
// Options:
//   --clients 1,2,4,8,16   concurrency levels, one table row each
//   --requests 4           streamed requests per client per level (K)
//   --n-predict 64         tokens generated per request (sent with ignore_eos: true, so every request makes them all)
//   --prompt TEXT          prompt (each client appends its number, so prompts differ); --prompt-words 32 for a
//                          synthetic one of that many words
//   --endpoint v1|llama    POST /v1/completions (default) or llama-server's POST /completion
//   --api-key KEY          sent as a Bearer token (also passed to a server this script starts)
//   --json                 print the rows as JSON instead of markdown
// Columns: tok/s = all generated tokens / wall time of the level; latency = request start to last byte;
// TTFT = request start to the first streamed token; per-req tok/s = median over requests of
// (tokens - 1) / (last token time - first token time).
import {spawn} from 'node:child_process';
import {resolve} from 'node:path';

function parse_args(argv) {
  const options = {
    url: null,
    model: null,
    binary: process.env.TRIT_BINARY || 'build/release/trit',
    threads: null,
    ctx: null,
    clients: [1, 2, 4, 8, 16],
    requests: 4,
    n_predict: 64,
    prompt: null,
    prompt_words: 32,
    endpoint: 'v1',
    api_key: null,
    json: false,
  };
  for (let i = 0; i < argv.length; ++i) {
    const name = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${name} needs a value`);
      return argv[++i];
    };
    const number = () => {
      const text = value();
      const n = Number(text);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${name}: '${text}' is not a positive integer`);
      return n;
    };
    switch (name) {
      case '--url':
        options.url = value().replace(/\/+$/, '');
        break;
      case '--model':
      case '-m':
        options.model = value();
        break;
      case '--binary':
        options.binary = value();
        break;
      case '--threads':
      case '-t':
        options.threads = number();
        break;
      case '--ctx':
      case '-c':
        options.ctx = number();
        break;
      case '--clients':
        options.clients = value().split(',').map((text) => {
          const n = Number(text);
          if (!Number.isInteger(n) || n < 1) throw new Error(`--clients: '${text}' is not a positive integer`);
          return n;
        });
        break;
      case '--requests':
      case '-k':
        options.requests = number();
        break;
      case '--n-predict':
      case '-n':
        options.n_predict = number();
        break;
      case '--prompt':
      case '-p':
        options.prompt = value();
        break;
      case '--prompt-words':
        options.prompt_words = number();
        break;
      case '--endpoint':
        options.endpoint = value();
        if (!['v1', 'llama'].includes(options.endpoint)) throw new Error('--endpoint must be v1 or llama');
        break;
      case '--api-key':
        options.api_key = value();
        break;
      case '--json':
        options.json = true;
        break;
      case '-h':
      case '--help':
        process.stdout.write(
            'usage: node bench/serve_load.mjs (--url URL | --model FILE.gguf) [--clients 1,2,4,8,16] [--requests 4]\n' +
            '       [--n-predict 64] [--prompt TEXT | --prompt-words 32] [--endpoint v1|llama] [--api-key KEY]\n' +
            '       [--binary build/release/trit] [--threads N] [--ctx N] [--json]\n');
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${name} (see --help)`);
    }
  }
  if (!options.url && !options.model) throw new Error('give --url of a running server or --model to start one');
  return options;
}

// Starts `trit serve` on a free port; resolves to {url, stop()}.
async function start_server(options) {
  const parallel = Math.max(...options.clients);
  const args = ['serve', '-m', options.model, '--host', '127.0.0.1', '--port', '0', '--parallel', String(parallel)];
  if (options.threads) args.push('-t', String(options.threads));
  if (options.ctx) args.push('-c', String(options.ctx));
  if (options.api_key) args.push('--api-key', options.api_key);
  const proc = spawn(resolve(options.binary), args, {stdio: ['ignore', 'ignore', 'pipe']});
  let stderr = '';
  const url = await new Promise((resolve_url, reject) => {
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (text) => {
      stderr = (stderr + text).slice(-16384);
      const match = /trit: listening on (http:\/\/\S+)/.exec(stderr);
      if (match) resolve_url(match[1]);
    });
    proc.on('error', reject);
    proc.on('exit', (code) => reject(new Error(`trit serve exited (${code}) before listening:\n${stderr}`)));
  });
  return {
    url,
    stop: () => new Promise((resolve_stop) => {
      proc.removeAllListeners('exit');
      proc.on('exit', resolve_stop);
      proc.kill('SIGTERM');
    }),
  };
}

// One streamed request; resolves to {n_tokens, latency_ms, ttft_ms, decode_tps}.
async function one_request(options, url, prompt) {
  const v1 = options.endpoint === 'v1';
  const body = v1 ?
      {
        prompt,
        max_tokens: options.n_predict,
        temperature: 0,
        stream: true,
        ignore_eos: true,
        stream_options: {include_usage: true}
      } :
      {prompt, n_predict: options.n_predict, temperature: 0, stream: true, ignore_eos: true, cache_prompt: false};
  const headers = {'Content-Type': 'application/json'};
  if (options.api_key) headers.Authorization = `Bearer ${options.api_key}`;
  const t_start = performance.now();
  const response = await fetch(
      url + (v1 ? '/v1/completions' : '/completion'), {method: 'POST', headers, body: JSON.stringify(body)});
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${(await response.text()).slice(0, 300)}`);
  const decoder = new TextDecoder();
  let buffer = '';
  let t_first = null;
  let t_last = null;
  let n_chunks = 0;
  let n_reported = null;  // the server's own count (usage or tokens_predicted), when it sends one
  const on_event = (data) => {
    if (data === '[DONE]') return;
    const chunk = JSON.parse(data);
    if (chunk.error) throw new Error(`stream error: ${JSON.stringify(chunk.error)}`);
    const text = v1 ? chunk.choices?.[0]?.text : chunk.content;
    if (text) {
      const now = performance.now();
      if (t_first === null) t_first = now;
      t_last = now;
      ++n_chunks;
    }
    if (v1 && chunk.usage) n_reported = chunk.usage.completion_tokens;
    if (!v1 && chunk.stop && chunk.tokens_predicted !== undefined) n_reported = chunk.tokens_predicted;
  };
  for await (const bytes of response.body) {
    buffer += decoder.decode(bytes, {stream: true}).replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split('\n')
                       .filter((line) => line.startsWith('data:'))
                       .map((line) => line.slice(5).trimStart())
                       .join('\n');
      if (data) on_event(data);
    }
  }
  const t_end = performance.now();
  const n_tokens = n_reported ?? n_chunks;
  return {
    n_tokens,
    latency_ms: t_end - t_start,
    ttft_ms: (t_first ?? t_end) - t_start,
    decode_tps: t_first !== null && t_last > t_first && n_tokens > 1 ? (n_tokens - 1) / ((t_last - t_first) / 1000) :
                                                                       NaN,
  };
}

function percentile(values, p) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function run_level(options, url, n_clients) {
  const base = options.prompt ?? Array.from({length: options.prompt_words}, (_, i) => `word${i % 17}`).join(' ');
  const results = [];
  const t_start = performance.now();
  await Promise.all(Array.from({length: n_clients}, async (_, client) => {
    for (let k = 0; k < options.requests; ++k) results.push(await one_request(options, url, `${base} ${client}`));
  }));
  const wall_s = (performance.now() - t_start) / 1000;
  const n_tokens = results.reduce((sum, r) => sum + r.n_tokens, 0);
  const short = results.filter((r) => r.n_tokens < options.n_predict).length;
  return {
    clients: n_clients,
    requests: results.length,
    tokens: n_tokens,
    short_requests: short,
    wall_s,
    tokens_per_s: n_tokens / wall_s,
    latency_p50_ms: percentile(results.map((r) => r.latency_ms), 50),
    latency_p90_ms: percentile(results.map((r) => r.latency_ms), 90),
    ttft_p50_ms: percentile(results.map((r) => r.ttft_ms), 50),
    ttft_p90_ms: percentile(results.map((r) => r.ttft_ms), 90),
    per_request_tps_p50: percentile(results.map((r) => r.decode_tps), 50),
  };
}

function markdown(rows, options) {
  const f = (v, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '-');
  const lines = [
    `n_predict ${options.n_predict}, ${options.requests} request(s) per client, ` +
        `${options.endpoint === 'v1' ? 'POST /v1/completions' : 'POST /completion'}, streamed`,
    '',
    '| clients | requests | tokens | wall s | tok/s | latency p50 ms | latency p90 ms | TTFT p50 ms | TTFT p90 ms ' +
        '| per-req tok/s p50 |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    lines.push(
        `| ${r.clients} | ${r.requests} | ${r.tokens} | ${f(r.wall_s, 2)} | ${f(r.tokens_per_s)} | ` +
        `${f(r.latency_p50_ms, 0)} | ${f(r.latency_p90_ms, 0)} | ${f(r.ttft_p50_ms, 0)} | ` +
        `${f(r.ttft_p90_ms, 0)} | ${f(r.per_request_tps_p50)} |`);
  }
  const short = rows.reduce((sum, r) => sum + r.short_requests, 0);
  if (short > 0)
    lines.push('', `note: ${short} request(s) made fewer than ${options.n_predict} tokens (context full?)`);
  return lines.join('\n') + '\n';
}

async function main() {
  const options = parse_args(process.argv.slice(2));
  const server = options.url ? null : await start_server(options);
  const url = options.url ?? server.url;
  try {
    await one_request(Object.assign({}, options, {n_predict: Math.min(8, options.n_predict)}), url, 'warm up');
    const rows = [];
    for (const n_clients of options.clients) {
      rows.push(await run_level(options, url, n_clients));
      if (!options.json) process.stderr.write(`clients ${n_clients}: ${rows.at(-1).tokens_per_s.toFixed(1)} tok/s\n`);
    }
    process.stdout.write(options.json ? JSON.stringify(rows, null, 2) + '\n' : markdown(rows, options));
  } finally {
    if (server) await server.stop();
  }
}

main().catch((error) => {
  process.stderr.write(`serve_load: ${error.message}\n`);
  process.exit(1);
});
