// The trit web chat: sends the conversation to POST /v1/chat/completions with stream:true and shows the
// reply as its Server-Sent Events arrive; settings (and the API key) live in localStorage.
(function() {
'use strict';

const kStorageKey = 'trit.chat.settings';
const kDefaults = {
  system: '',
  temperature: 0.8,
  top_k: 40,
  top_p: 0.95,
  min_p: 0.05,
  max_tokens: 256,
  seed: '',
  api_key: '',
};
// Settings field id -> settings key; numbers are parsed, the rest kept as text.
const kFields = [
  ['system-prompt', 'system', 'text'],
  ['temperature', 'temperature', 'float'],
  ['top-k', 'top_k', 'int'],
  ['top-p', 'top_p', 'float'],
  ['min-p', 'min_p', 'float'],
  ['max-tokens', 'max_tokens', 'int'],
  ['seed', 'seed', 'int-or-empty'],
  ['api-key', 'api_key', 'text'],
];

const $ = (id) => document.getElementById(id);
const el = {
  messages: $('messages'),
  emptyHint: $('empty-hint'),
  prompt: $('prompt'),
  send: $('send'),
  stop: $('stop'),
  newChat: $('new-chat'),
  composer: $('composer'),
  modelName: $('model-name'),
  error: $('error'),
  errorText: $('error-text'),
  errorDismiss: $('error-dismiss'),
  stats: $('stats'),
  settings: $('settings'),
  settingsToggle: $('settings-toggle'),
  settingsClose: $('settings-close'),
  settingsReset: $('settings-reset'),
};

let settings = load_settings();
let history = [];       // [{role, content}] of finished turns, without the system prompt
let controller = null;  // AbortController of the request in flight, if any

// ---- settings ----

function load_settings() {
  try {
    const saved = JSON.parse(localStorage.getItem(kStorageKey) || '{}');
    return Object.assign({}, kDefaults, saved);
  } catch (e) {
    return Object.assign({}, kDefaults);
  }
}

function save_settings() {
  try {
    localStorage.setItem(kStorageKey, JSON.stringify(settings));
  } catch (e) {
    // Storage may be disabled (private mode): settings then last for this page only.
  }
}

function show_settings_in_form() {
  for (const [id, key] of kFields) $(id).value = settings[key] === undefined ? '' : String(settings[key]);
}

function read_field(id, kind) {
  const raw = $(id).value;
  if (kind === 'text') return raw;
  const text = raw.trim();
  if (kind === 'int-or-empty' && text === '') return '';
  const value = kind === 'float' ? Number.parseFloat(text) : Number.parseInt(text, 10);
  return Number.isFinite(value) ? value : undefined;
}

function on_setting_changed(event) {
  const entry = kFields.find(([id]) => id === event.target.id);
  if (!entry) return;
  const [id, key, kind] = entry;
  const value = read_field(id, kind);
  if (value === undefined) return;  // half-typed number: keep the previous value until it parses
  const key_changed = key === 'api_key' && value !== settings.api_key;
  settings[key] = value;
  save_settings();
  if (key_changed) load_model_name();
}

function set_settings_open(open) {
  el.settings.hidden = !open;
  el.settingsToggle.setAttribute('aria-expanded', String(open));
  if (open) $('temperature').focus();
}

// ---- HTTP ----

function headers() {
  const h = {'Content-Type': 'application/json'};
  if (settings.api_key) h['Authorization'] = 'Bearer ' + settings.api_key;
  return h;
}

// A readable message for a failed response: the OpenAI-shaped {error:{message}} when there is one.
async function error_message(response) {
  let detail = '';
  try {
    const text = await response.text();
    try {
      const body = JSON.parse(text);
      detail = (body.error && (body.error.message || body.error)) || body.message || text;
    } catch (e) {
      detail = text;
    }
  } catch (e) {
    // no body
  }
  if (typeof detail !== 'string') detail = JSON.stringify(detail);
  if (response.status === 401) {
    return (settings.api_key ? 'The API key was not accepted' : 'This server needs an API key') +
        ': enter it in Settings.' + (detail ? ' (' + detail + ')' : '');
  }
  return 'HTTP ' + response.status + (detail ? ': ' + detail : '');
}

async function load_model_name() {
  el.modelName.textContent = 'connecting…';
  try {
    const response = await fetch('/v1/models', {headers: headers()});
    if (!response.ok) {
      el.modelName.textContent = response.status === 401 ? 'API key needed' : 'model unknown';
      if (response.status === 401) show_error(await error_message(response), true);
      return;
    }
    const body = await response.json();
    const model = body.data && body.data[0];
    el.modelName.textContent = model ? model.id : 'no model';
    el.modelName.title = model ? 'Model: ' + model.id : '';
  } catch (e) {
    el.modelName.textContent = 'server unreachable';
  }
}

// Reads a Server-Sent Events body, calling on_data(text) for each event's data (the `data:` lines of one
// event joined by newlines). Events may be split across reads, or several may come in one read.
async function read_sse(body, on_data) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const flush_events = (final) => {
    buffer = buffer.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0 || (final && buffer.length > 0)) {
      const block = end >= 0 ? buffer.slice(0, end) : buffer;
      buffer = end >= 0 ? buffer.slice(end + 2) : '';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      }
      if (data.length > 0 && on_data(data.join('\n')) === false) return false;
    }
    return true;
  };
  for (;;) {
    const {value, done} = await reader.read();
    if (done) {
      buffer += decoder.decode();
      flush_events(true);
      return;
    }
    buffer += decoder.decode(value, {stream: true});
    let more;
    try {
      more = flush_events(false);
    } catch (e) {
      reader.cancel().catch(() => {});
      throw e;
    }
    if (!more) {
      reader.cancel().catch(() => {});
      return;
    }
  }
}

// ---- messages ----

function add_message(role, text) {
  el.emptyHint.hidden = true;
  const box = document.createElement('div');
  box.className = 'message ' + role;
  const label = document.createElement('span');
  label.className = 'role';
  label.textContent = role === 'user' ? 'You' : role === 'assistant' ? 'Assistant' : role;
  const content = document.createElement('div');
  content.className = 'content';
  content.textContent = text;
  const meta = document.createElement('div');
  meta.className = 'meta';
  box.append(label, content, meta);
  el.messages.append(box);
  scroll_to_end();
  return {box, content, meta};
}

function scroll_to_end() {
  el.messages.scrollTop = el.messages.scrollHeight;
}

// Runs `change` (which grows the conversation) and keeps the view at the end if the reader was there.
function keeping_scroll(change) {
  const m = el.messages;
  const at_end = m.scrollHeight - m.scrollTop - m.clientHeight < 60;
  change();
  if (at_end) scroll_to_end();
}

function show_error(text, open_settings) {
  el.errorText.textContent = text;
  el.error.hidden = false;
  if (open_settings) {
    set_settings_open(true);
    $('api-key').focus();
  }
}

function clear_error() {
  el.error.hidden = true;
  el.errorText.textContent = '';
}

function set_busy(busy) {
  el.send.disabled = busy;
  el.stop.disabled = !busy;
  el.messages.setAttribute('aria-busy', String(busy));
}

function request_body(messages) {
  const body = {
    messages,
    stream: true,
    stream_options: {include_usage: true},
    temperature: settings.temperature,
    top_p: settings.top_p,
    top_k: settings.top_k,
    min_p: settings.min_p,
    max_tokens: settings.max_tokens,
  };
  if (settings.seed !== '' && settings.seed !== undefined) body.seed = settings.seed;
  return body;
}

function format_stats(n_tokens, tokens_per_s, seconds) {
  const parts = [];
  if (n_tokens !== null) parts.push(n_tokens + (n_tokens === 1 ? ' token' : ' tokens'));
  if (tokens_per_s !== null) parts.push(tokens_per_s.toFixed(1) + ' tokens/s');
  parts.push(seconds.toFixed(2) + ' s');
  return parts.join(' · ');
}

async function send() {
  if (controller) return;
  const text = el.prompt.value;
  if (text.trim() === '') return;
  clear_error();
  el.prompt.value = '';
  add_message('user', text);
  const turn = {role: 'user', content: text};
  const messages = [];
  if (settings.system.trim() !== '') messages.push({role: 'system', content: settings.system});
  messages.push(...history, turn);

  const reply = add_message('assistant', '');
  reply.box.dataset.done = 'false';
  let answer = '';
  let finish_reason = null;
  let n_chunks = 0;
  let usage = null;
  let timings = null;
  let failed = false;
  const t_start = performance.now();
  let t_first = null;
  controller = new AbortController();
  set_busy(true);
  try {
    const response = await fetch('/v1/chat/completions', {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify(request_body(messages)),
      signal: controller.signal,
    });
    if (!response.ok) throw new Error(await error_message(response));
    await read_sse(response.body, (data) => {
      if (data.trim() === '[DONE]') return false;
      let chunk;
      try {
        chunk = JSON.parse(data);
      } catch (e) {
        return true;  // not JSON (a comment or keep-alive): skip
      }
      if (chunk.error) throw new Error(chunk.error.message || JSON.stringify(chunk.error));
      if (chunk.usage) usage = chunk.usage;
      if (chunk.timings) timings = chunk.timings;
      const choice = chunk.choices && chunk.choices[0];
      if (!choice) return true;
      const piece = (choice.delta && choice.delta.content) || '';
      if (piece) {
        if (t_first === null) t_first = performance.now();
        n_chunks += 1;
        answer += piece;
        keeping_scroll(() => {
          reply.content.textContent = answer;
        });
      }
      if (choice.finish_reason) finish_reason = choice.finish_reason;
      return true;
    });
  } catch (e) {
    if (e.name !== 'AbortError') {
      failed = true;
      show_error(e.message || String(e), /API key/.test(e.message || ''));
    }
  }
  const aborted = controller.signal.aborted;
  controller = null;
  set_busy(false);

  const seconds = (performance.now() - t_start) / 1000;
  const n_tokens = usage && usage.completion_tokens !== undefined ? usage.completion_tokens : n_chunks || null;
  let tokens_per_s = null;
  if (timings && timings.predicted_per_second) {
    tokens_per_s = timings.predicted_per_second;
  } else if (n_tokens && t_first !== null) {
    const gen_s = (performance.now() - t_first) / 1000;
    tokens_per_s = gen_s > 0 && n_tokens > 1 ? (n_tokens - 1) / gen_s : null;
  }
  let meta = format_stats(n_tokens, tokens_per_s, seconds);
  if (aborted)
    meta += ' · stopped';
  else if (finish_reason === 'length')
    meta += ' · max tokens reached';
  keeping_scroll(() => {
    reply.meta.textContent = meta;
  });
  el.stats.textContent = 'Last reply: ' + meta;
  reply.box.dataset.done = 'true';
  if (finish_reason) reply.box.dataset.finishReason = finish_reason;
  if (aborted) reply.box.dataset.finishReason = 'stopped';

  if (failed) {
    reply.box.classList.add('failed');
    reply.box.dataset.finishReason = 'error';
    if (answer === '') reply.content.textContent = '(no reply: see the error above)';
  } else if (answer !== '' || !aborted) {
    history.push(turn, {role: 'assistant', content: answer});
  }
  if (answer === '' && !aborted && !failed) reply.content.textContent = '(empty reply)';
  el.prompt.focus();
}

function stop() {
  if (controller) controller.abort();
}

function new_chat() {
  stop();
  history = [];
  for (const node of Array.from(el.messages.querySelectorAll('.message'))) node.remove();
  el.emptyHint.hidden = false;
  el.stats.textContent = '';
  clear_error();
  el.prompt.value = '';
  el.prompt.focus();
}

// ---- wiring ----

el.composer.addEventListener('submit', (event) => {
  event.preventDefault();
  send();
});
el.prompt.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send();
  }
});
el.stop.addEventListener('click', stop);
el.newChat.addEventListener('click', new_chat);
el.errorDismiss.addEventListener('click', clear_error);
el.settingsToggle.addEventListener('click', () => set_settings_open(el.settings.hidden));
el.settingsClose.addEventListener('click', () => {
  set_settings_open(false);
  el.settingsToggle.focus();
});
el.settingsReset.addEventListener('click', () => {
  const api_key = settings.api_key;  // "Defaults" resets sampling, not the key
  settings = Object.assign({}, kDefaults, {api_key});
  save_settings();
  show_settings_in_form();
});
$('settings-form').addEventListener('input', on_setting_changed);
$('settings-form').addEventListener('change', on_setting_changed);
$('settings-form').addEventListener('submit', (event) => event.preventDefault());
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && !el.settings.hidden) set_settings_open(false);
});

show_settings_in_form();
load_model_name();
el.prompt.focus();
})();
