// Drives the web chat page of the real `trit serve` in headless Chromium (playwright-core): a streamed reply grows
// in steps and ends equal to the greedy /v1/chat/completions text; API-key errors; narrow windows.
// Run: TRIT_BINARY=build/release/trit node --test tests/server/js/web_chat.test.mjs
// Chromium: $CHROMIUM, default /usr/bin/chromium.
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';
import {existsSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {after, before, describe, test} from 'node:test';
import {chromium} from 'playwright-core';

import {startServer, tritBinary} from './server.mjs';

const kChromium = process.env.CHROMIUM || '/usr/bin/chromium';
const kTimeout = {
  timeout: 120000
};
const kMaxTokens = 24;

let browser;

async function launch() {
  if (!browser) browser = await chromium.launch({executablePath: kChromium, args: ['--no-sandbox'], headless: true});
  return browser;
}

// A fresh page (own localStorage) on `server`, failing the test on any uncaught page error.
async function open_page(server, viewport = {
  width: 1000,
  height: 700
}) {
  const context = await (await launch()).newContext({viewport});
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.goto(server.url + '/');
  return {page, context, errors};
}

async function set_settings(page, values) {
  if (await page.locator('#settings').isHidden()) await page.click('#settings-toggle');
  for (const [id, value] of Object.entries(values)) await page.fill('#' + id, String(value));
  await page.click('#settings-close');
}

// Records every text the last assistant message shows while it is written (each DOM mutation, even batched ones).
async function watch_reply_text(page) {
  await page.evaluate(() => {
    window.__reply_texts = [];
    new MutationObserver((records) => {
      for (const record of records) {
        const target = record.target.nodeType === Node.TEXT_NODE ? record.target.parentElement : record.target;
        if (!target || !target.classList || !target.classList.contains('content')) continue;
        if (!target.closest('.message.assistant')) continue;
        for (const node of record.addedNodes)
          if (node.nodeType === Node.TEXT_NODE) window.__reply_texts.push(node.data);
        if (record.type === 'characterData') window.__reply_texts.push(record.target.data);
      }
    }).observe(document.getElementById('messages'), {childList: true, subtree: true, characterData: true});
  });
}

async function greedy_reply(server, messages) {
  const response = await server.fetch(
      '/v1/chat/completions',
      {json: {messages, temperature: 0, top_k: 40, top_p: 0.95, min_p: 0.05, max_tokens: kMaxTokens}});
  assert.equal(response.status, 200);
  return (await response.json()).choices[0].message.content;
}

async function last_reply(page) {
  const reply = page.locator('#messages .message.assistant').last();
  await reply.and(page.locator('[data-done="true"]')).waitFor({timeout: 60000});
  return reply;
}

after(async () => {
  if (browser) await browser.close();
});

describe('web chat page', {skip: existsSync(kChromium) ? false : `no Chromium at ${kChromium}`}, () => {
  let server;
  before(async () => {
    server = await startServer({args: ['--parallel', '2', '-c', '2048']});  // long enough for the Stop test
  });
  after(async () => {
    if (server) await server.stop();
  });

  test('a streamed reply grows in steps and equals the greedy completion', kTimeout, async () => {
    const prompt = 'Tell me a story about a ternary robot.';
    const expected = await greedy_reply(server, [{role: 'user', content: prompt}]);
    assert.ok(expected.length > 0, 'greedy reference reply is empty: pick another prompt');

    const {page, context, errors} = await open_page(server);
    const models = await (await server.fetch('/v1/models')).json();
    await page.locator('#model-name', {hasText: models.data[0].id}).waitFor({timeout: 10000});
    await set_settings(page, {'temperature': 0, 'max-tokens': kMaxTokens, 'top-k': 40, 'top-p': 0.95, 'min-p': 0.05});
    await watch_reply_text(page);

    await page.fill('#prompt', prompt);
    await page.click('#send');
    const reply = await last_reply(page);
    const text = await reply.locator('.content').evaluate((node) => node.textContent);
    assert.equal(text, expected);

    const steps = await page.evaluate(() => window.__reply_texts.filter((t) => t !== ''));
    const distinct = [...new Set(steps)];
    assert.ok(
        distinct.length >= 2,
        `the reply appeared in ${distinct.length} step(s), not streamed: ${JSON.stringify(steps)}`);
    for (let i = 1; i < distinct.length; ++i) {
      assert.ok(distinct[i].startsWith(distinct[i - 1]), `step ${i} does not extend step ${i - 1}`);
    }
    assert.equal(distinct[distinct.length - 1], expected);
    assert.match(await reply.locator('.meta').textContent(), /tokens\/s/);
    assert.match(await page.locator('#stats').textContent(), /tokens\/s/);
    assert.ok(await page.locator('#stop').isDisabled(), 'Stop still enabled after the reply');
    assert.ok(await page.locator('#send').isEnabled(), 'Send disabled after the reply');

    // A second turn sent with Enter carries the history; Shift+Enter only adds a line.
    await page.click('#prompt');
    await page.keyboard.type('And then?');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('Go on.');
    assert.equal(await page.inputValue('#prompt'), 'And then?\nGo on.');
    await page.keyboard.press('Enter');
    await page.locator('#messages .message.assistant').nth(1).waitFor();
    const second = await last_reply(page);
    const expected_second = await greedy_reply(server, [
      {role: 'user', content: prompt}, {role: 'assistant', content: expected},
      {role: 'user', content: 'And then?\nGo on.'}
    ]);
    assert.equal(
        await second.locator('.content').evaluate((node) => node.textContent), expected_second || '(empty reply)');

    // New chat empties the conversation.
    await page.click('#new-chat');
    assert.equal(await page.locator('#messages .message').count(), 0);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('Stop ends a long reply, keeps its text and frees the slot', kTimeout, async () => {
    // The tiny model writes 1900 tokens in a fraction of a second, faster than a click: this test uses the
    // 125M shape (milliseconds per token), so the reply is surely still running when Stop is clicked.
    const dir = mkdtempSync(join(tmpdir(), 'trit-js-stop-'));
    const model = join(dir, 'm125.gguf');
    execFileSync(tritBinary, ['gen-dummy', '--shape', '125M', '-q', '-o', model], {stdio: 'pipe'});
    const slow = await startServer({model, args: ['-c', '2048']});
    try {
      await stop_test(slow);
    } finally {
      await slow.stop();
      rmSync(dir, {recursive: true, force: true});
    }
  });

  async function stop_test(server) {
    const {page, context, errors} = await open_page(server);
    await set_settings(page, {'temperature': 0, 'max-tokens': 1900});
    await page.fill('#prompt', 'Write forever.');
    await page.click('#send');
    const reply = page.locator('#messages .message.assistant').last();
    await page.waitForFunction(() => {
      const node = document.querySelector('#messages .message.assistant:last-child .content');
      return node && node.textContent.length >= 4;
    });
    assert.ok(await page.locator('#stop').isEnabled(), 'Stop is not enabled while generating');
    await page.click('#stop');
    await reply.and(page.locator('[data-done="true"]')).waitFor({timeout: 10000});
    assert.equal(
        await reply.getAttribute('data-finish-reason'), 'stopped',
        'the reply ended before Stop was clicked (EOS?): the test proves nothing');
    assert.match(await reply.locator('.meta').textContent(), /stopped/);
    assert.ok((await reply.locator('.content').textContent()).length >= 4, 'the partial text was dropped');
    assert.ok(await page.locator('#error').isHidden(), 'Stop showed an error');
    const deadline = Date.now() + 5000;
    for (;;) {
      const slots = await (await server.fetch('/slots')).json();
      if (!slots.some((slot) => slot.is_processing)) {
        for (const slot of slots) assert.ok(slot.n_decoded < 1900, `a slot decoded ${slot.n_decoded} tokens`);
        break;
      }
      assert.ok(Date.now() < deadline, `a slot is still busy 5 s after Stop: ${JSON.stringify(slots)}`);
      await new Promise((resolve_wait) => setTimeout(resolve_wait, 20));
    }
    assert.deepEqual(errors, []);
    await context.close();
  }

  test('settings persist in localStorage across reloads', kTimeout, async () => {
    const {page, context, errors} = await open_page(server);
    await set_settings(page, {'temperature': 0.3, 'seed': 7, 'system-prompt': 'Be brief.'});
    await page.reload();
    if (await page.locator('#settings').isHidden()) await page.click('#settings-toggle');
    assert.equal(await page.inputValue('#temperature'), '0.3');
    assert.equal(await page.inputValue('#seed'), '7');
    assert.equal(await page.inputValue('#system-prompt'), 'Be brief.');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('fits a narrow window', kTimeout, async () => {
    const {page, context, errors} = await open_page(server, {width: 360, height: 640});
    for (const id of ['#prompt', '#send', '#stop', '#new-chat', '#settings-toggle']) {
      assert.ok(await page.locator(id).isVisible(), `${id} not visible at 360 px`);
    }
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow} px wider than a 360 px window`);
    await page.click('#settings-toggle');
    assert.ok(await page.locator('#api-key').isVisible());
    assert.deepEqual(errors, []);
    await context.close();
  });
});

describe('web chat page with --api-key', {skip: existsSync(kChromium) ? false : `no Chromium at ${kChromium}`}, () => {
  const key = 'sk-web-test';
  let server;
  before(async () => {
    server = await startServer({args: ['--parallel', '1', '-c', '256'], apiKey: key});
  });
  after(async () => {
    if (server) await server.stop();
  });

  test('asks for the API key on 401, then works with it', kTimeout, async () => {
    const {page, context, errors} = await open_page(server);  // the page itself needs no key
    await page.locator('#error').waitFor({state: 'visible', timeout: 10000});
    assert.match(await page.locator('#error-text').textContent(), /API key/);
    await page.fill('#prompt', 'hello');
    await page.click('#send');
    await last_reply(page);
    assert.match(await page.locator('#error-text').textContent(), /API key/);
    assert.ok(await page.locator('#api-key').isVisible(), 'the API key field is not shown');

    await set_settings(page, {'api-key': key, 'temperature': 0, 'max-tokens': 8});
    await page.click('#error-dismiss');
    const models = await (await server.fetch('/v1/models')).json();
    await page.locator('#model-name', {hasText: models.data[0].id}).waitFor({timeout: 10000});
    await page.fill('#prompt', 'hello');
    await page.click('#send');
    await page.locator('#messages .message.assistant').nth(1).waitFor();
    const reply = await last_reply(page);
    assert.ok(await page.locator('#error').isHidden(), await page.locator('#error-text').textContent());
    const expected = await (await server.fetch('/v1/chat/completions', {
                       json: {messages: [{role: 'user', content: 'hello'}], temperature: 0, max_tokens: 8}
                     })).json();
    assert.equal(
        await reply.locator('.content').evaluate((node) => node.textContent),
        expected.choices[0].message.content || '(empty reply)');
    assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem('trit.chat.settings')).api_key), key);
    assert.deepEqual(errors, []);
    await context.close();
  });
});
