// Test helper: makes the tiny random-weight model once per process, runs the real `trit serve` on a free port,
// and stops it with SIGTERM, checking that it exits 0.
// The binary is $TRIT_BINARY, or build/release/trit under the repository root.
import {execFileSync, spawn} from 'node:child_process';
import {existsSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const tritBinary = resolve(repoRoot, process.env.TRIT_BINARY || 'build/release/trit');

const kListeningLine = /trit: listening on http:\/\/([^\s:]+|\[[^\]]+\]):(\d+)/;
const kStartTimeoutMs = 30000;
const kStopTimeoutMs = 15000;
const kStderrKeep = 64 * 1024;

let model_dir = null;
let model_path = null;
const running = new Set();

// Path of the tiny dummy model (random ternary weights, 256-token context), written on first use.
export function dummyModel() {
  if (model_path) return model_path;
  if (!existsSync(tritBinary)) {
    throw new Error(`trit binary not found at ${tritBinary}: build it or set TRIT_BINARY`);
  }
  model_dir = mkdtempSync(join(tmpdir(), 'trit-js-'));
  model_path = join(model_dir, 'tiny.gguf');
  execFileSync(tritBinary, ['gen-dummy', '--shape', 'tiny', '-q', '-o', model_path], {stdio: 'pipe'});
  return model_path;
}

process.on('exit', () => {
  for (const server of running) server.proc.kill('SIGKILL');
  if (model_dir) rmSync(model_dir, {recursive: true, force: true});
});

// Starts `trit serve -m <tiny model> --port 0 ...args` and resolves once it prints its listening line.
// Returns {port, url, baseURL (the OpenAI /v1 root), apiKey, proc, stderr(), stop()}.
export async function startServer({args = [], apiKey = null, model = null} = {}) {
  const argv = ['serve', '-m', model || dummyModel(), '--host', '127.0.0.1', '--port', '0', ...args];
  if (apiKey) argv.push('--api-key', apiKey);
  const proc = spawn(tritBinary, argv, {stdio: ['ignore', 'ignore', 'pipe']});
  let stderr = '';
  let exited = null;  // {code, signal} once the process is gone
  const exit_promise = new Promise((resolve_exit) => {
    proc.on('exit', (code, signal) => {
      exited = {code, signal};
      resolve_exit(exited);
    });
  });
  const server = {
    proc,
    apiKey,
    stderr: () => stderr,
    exited: () => exited,
  };

  const port = await new Promise((resolve_port, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`trit serve printed no listening line in ${kStartTimeoutMs} ms; stderr:\n${stderr}`));
    }, kStartTimeoutMs);
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (text) => {
      stderr = (stderr + text).slice(-kStderrKeep);
      const match = kListeningLine.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve_port(Number(match[2]));
      }
    });
    proc.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    exit_promise.then(({code, signal}) => {
      clearTimeout(timer);
      reject(new Error(`trit serve exited (code ${code}, signal ${signal}) before listening; stderr:\n${stderr}`));
    });
  });

  running.add(server);
  server.port = port;
  server.url = `http://127.0.0.1:${port}`;
  server.baseURL = `${server.url}/v1`;

  // SIGTERM, then wait for the exit; rejects unless the exit code is 0.
  server.stop = async () => {
    running.delete(server);
    if (!exited) proc.kill('SIGTERM');
    let timer;
    const timeout = new Promise((resolve_timeout) => {
      timer = setTimeout(resolve_timeout, kStopTimeoutMs, null);
    });
    const result = await Promise.race([exit_promise, timeout]);
    clearTimeout(timer);
    if (!result) {
      proc.kill('SIGKILL');
      throw new Error(
          `trit serve did not exit within ${kStopTimeoutMs} ms of SIGTERM; stderr:\n${stderr.slice(-4000)}`);
    }
    if (result.code !== 0) {
      throw new Error(
          `trit serve exited with code ${result.code} (signal ${result.signal}) after SIGTERM; ` +
          `stderr:\n${stderr.slice(-4000)}`);
    }
  };

  // fetch() against the server with the API key (when it has one) unless `headers` says otherwise.
  server.fetch = (path, options = {}) => {
    const headers = Object.assign({}, options.headers || {});
    if (apiKey && !('Authorization' in headers)) headers.Authorization = `Bearer ${apiKey}`;
    if (options.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      options = Object.assign({}, options, {body: JSON.stringify(options.json), method: options.method || 'POST'});
    }
    return fetch(server.url + path, Object.assign({}, options, {headers}));
  };
  return server;
}
