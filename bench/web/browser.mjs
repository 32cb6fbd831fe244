// browser.mjs — what a person waits for in the page itself, in headless chromium (Debian's, driven
// by tests/web's playwright-core) against the `awm serve` that web_bench started (AWM_URL):
//   first preview: from the start of the navigation to / until the preview shows its first image
//   preview after an edit: from a keystroke in the title until the preview shows the new image
//     (this includes the page's 250 ms debounce, PREVIEW_DEBOUNCE_MS in web/app.js)
// Two versions of the page are timed, interleaved in one browser and against one server: the
// files of AWM_WEB_BEFORE (web/ of main, say) and of AWM_WEB_AFTER (this tree's web/), each served
// to the page from disk by playwright (page.route), so both pay the same. Each round is a fresh
// browser context (no cache, no local storage). Times are taken in the page (performance.now()
// when the preview's data-renders attribute changes).
// usage: AWM_URL=... AWM_WEB_BEFORE=dir AWM_WEB_AFTER=dir node browser.mjs [rounds, default 15]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { chromium } = createRequire(join(here, '../../tests/web/package.json'))('playwright-core');
const BASE = process.env.AWM_URL;
const rounds = Number(process.argv[2]) || 15;
const versions = { before: process.env.AWM_WEB_BEFORE, after: process.env.AWM_WEB_AFTER };
if (!BASE || !versions.before || !versions.after) {
  console.error('usage: AWM_URL=... AWM_WEB_BEFORE=dir AWM_WEB_AFTER=dir node browser.mjs [rounds]');
  process.exit(2);
}
const TYPES = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'] });

async function round(dir) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  await context.route(/\/(index\.html|app\.js|style\.css)?(\?.*)?$/, (route) => {
    const path = new URL(route.request().url()).pathname;
    const name = path === '/' ? 'index.html' : path.slice(1);
    route.fulfill({ body: readFileSync(join(dir, name)), contentType: TYPES[name.split('.').pop()] });
  });
  await context.addInitScript(() => {
    window.__renders = [];
    new MutationObserver((ms) => {
      for (const m of ms) if (m.attributeName === 'data-renders') window.__renders.push(performance.now());
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-renders'] });
  });
  const page = await context.newPage();
  await page.goto(`${BASE}/`);
  await page.waitForFunction(() => window.__renders.length >= 1 && document.body.dataset.ready === 'true'
    && document.querySelector('#preview').dataset.state === 'ready', null, { timeout: 60_000 });
  const first = await page.evaluate(() => window.__renders[0]);
  const edit = await page.evaluate(() => new Promise((resolve) => {
    const n = window.__renders.length;
    const title = document.querySelector('#title');
    const t0 = performance.now();
    title.value += ' x';
    title.dispatchEvent(new Event('input', { bubbles: true }));
    const poll = () => (window.__renders.length > n ? resolve(window.__renders[n] - t0) : setTimeout(poll, 5));
    poll();
  }));
  await context.close();
  return { first, edit };
}

const times = { before: { first: [], edit: [] }, after: { first: [], edit: [] } };
await round(versions.after); // warm-up: the server's caches, the browser's start
for (let i = 0; i < rounds; i++) {
  for (const v of i % 2 ? ['before', 'after'] : ['after', 'before']) {
    const t = await round(versions[v]);
    times[v].first.push(t.first);
    times[v].edit.push(t.edit);
  }
}
await browser.close();
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const range = (a) => `${Math.min(...a).toFixed(0)}–${Math.max(...a).toFixed(0)}`;
for (const v of ['before', 'after']) {
  console.log(`page ${v} (${versions[v]}), ${rounds} rounds: first preview after navigation median ${median(times[v].first).toFixed(0)} ms `
    + `(${range(times[v].first)}); preview after an edit median ${median(times[v].edit).toFixed(0)} ms (${range(times[v].edit)})`);
}
