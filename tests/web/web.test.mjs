// web.test.mjs — the web page as a person uses it, in headless chromium (Debian's, driven by
// playwright-core), against a real `awm serve` + `awm worker` + PostgreSQL started by
// test_web_ui.c (AWM_URL). The steps build on each other, so they run in order in one page:
// title, two people with two places each found by name, reorder, theme → new preview, drag →
// new rotation, a hand-typed latitude of 95 → the validator's message by that field, saved in
// place (a reload shows the same map, no second one), export 8×10 → export_complete → download →
// a PNG of 2475 × 3075 pixels; labels on every control, phone width; a screenshot (AWM_SCREENSHOT,
// else AWM_TMP/screenshot.png). Then who may do what: a draft survives a reload, the edit link
// edits the same map from another browser, the view link is read-only and "Make a copy" makes a
// new map, the server stopped mid-edit shows "Not saved" and the edit is saved when it returns
// (test_web_ui.c stops and restarts it on request: AWM_CONTROL), My maps renames and deletes.
// Between them: axe-core (node_modules/axe-core, injected into the page) on the empty and the
// filled page; the view fitted to the places (the saved rotation), by default and by its button;
// drag-and-drop reordering; the size picker; the phone layout (the preview in view at the form's
// end, 44 px targets).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { inflateSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const BASE = process.env.AWM_URL;
assert.ok(BASE, 'AWM_URL must name the server (test_web_ui.c sets it)');
const TMP = process.env.AWM_TMP || tmpdir();

let browser;
let page;
let profile;
let elsewhere; // a second browser: other devices and people, each a fresh context
const renders = []; // every /render URL the page asked for, in order
const mapRequests = []; // every request of the page to /api/maps…: "METHOD path"
const pageErrors = [];
let serverDown = false; // while the test has stopped the server, failed loads are expected
let mapsAtStart = 0;

// The network is closed: without these flags chromium stalls on its own connections.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

before(async () => {
  profile = mkdtempSync(join(TMP, 'chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 1000 },
    acceptDownloads: true,
    permissions: ['clipboard-read', 'clipboard-write'],
    timeout: 60_000,
  });
  elsewhere = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS, timeout: 60_000 });
  mapsAtStart = mapCount();
  browser = context;
  page = context.pages()[0] || await context.newPage();
  page.setDefaultTimeout(60_000);
  page.on('request', (r) => {
    if (r.url().includes('/render?')) renders.push(r.url());
    if (new URL(r.url()).pathname.startsWith('/api/maps')) mapRequests.push(`${r.method()} ${new URL(r.url()).pathname}`);
  });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => {
    // 400: a field the validator refused (shown by the field); 503: every render slot busy (the
    // preview asks again)
    if (m.type() !== 'error' || /status of (400|503)/.test(m.text())) return;
    if (serverDown && /ERR_CONNECTION_REFUSED/.test(m.text())) return;
    pageErrors.push(m.text());
  });
  await page.goto(`${BASE}/`);
  await page.waitForSelector('body[data-ready=true]');
});

after(async () => {
  await browser?.close();
  await elsewhere?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

// The map definition the page last sent to /render.
function lastRenderedMap() {
  const url = new URL(renders.at(-1));
  return JSON.parse(Buffer.from(url.searchParams.get('data'), 'base64url').toString('utf8'));
}

const rendersDone = () => page.$eval('#preview', (f) => Number(f.dataset.renders));

// Wait until the preview has drawn more than `count` images and is not loading again.
async function waitPreviewAfter(count) {
  await page.waitForFunction((n) => {
    const f = document.querySelector('#preview');
    return Number(f.dataset.renders) > n && f.dataset.state === 'ready';
  }, count);
}

// Wait until no render is due or running: the preview shows the page's current state.
async function settle(p = page) {
  await p.waitForFunction(() => {
    const f = document.querySelector('#preview');
    return !f.dataset.pending && f.dataset.state !== 'loading';
  });
}

// ---- saving, maps, the server ----

const saveState = (p = page) => p.$eval('#save-status', (e) => e.dataset.state);
// Wait until the page says the server holds the map as shown.
const waitSaved = (p = page) => p.waitForSelector('#save-status[data-state=saved]');
const waitReady = (p = page) => p.waitForSelector('body[data-ready=true]');
const openId = (p = page) => new URL(p.url()).searchParams.get('map');
const posts = () => mapRequests.filter((r) => r === 'POST /api/maps').length;

// How many maps the database holds (psql on the test's own PostgreSQL).
function mapCount() {
  return Number(execFileSync('psql', [process.env.AWM_DATABASE_URL, '-Atc', 'SELECT count(*) FROM user_maps'],
    { encoding: 'utf8' }).trim());
}

// The map as the API holds it: {status, map}.
async function getMap(id) {
  const res = await fetch(`${BASE}/api/maps/${id}`);
  return { status: res.status, map: res.status === 200 ? (await res.json()).userMap : null };
}

// Ask test_web_ui.c to stop or start `awm serve` and wait for it to be done (see serve_control).
async function serve(what) {
  const dir = process.env.AWM_CONTROL;
  assert.ok(dir, 'AWM_CONTROL must name the control directory (test_web_ui.c sets it)');
  writeFileSync(join(dir, 'request.tmp'), `${what}\n`);
  renameSync(join(dir, 'request.tmp'), join(dir, 'request'));
  const done = join(dir, 'done');
  for (let waited = 0; !existsSync(done); waited += 50) {
    assert.ok(waited < 120_000, `the harness did not ${what} the server`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const answer = readFileSync(done, 'utf8').trim();
  unlinkSync(done);
  assert.equal(answer, 'ok', `the harness could not ${what} the server`);
}

// A fresh browser context: another device, or another person.
async function otherDevice() {
  const context = await elsewhere.newContext({ viewport: { width: 1280, height: 1000 } });
  const p = await context.newPage();
  p.setDefaultTimeout(60_000);
  const requests = [];
  p.on('request', (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));
  return { context, p, requests };
}

async function previewHash() {
  const b64 = await page.$eval('#preview-img', async (img) => {
    const buf = new Uint8Array(await (await fetch(img.src)).arrayBuffer());
    let s = '';
    for (let i = 0; i < buf.length; i += 0x8000) s += String.fromCharCode(...buf.subarray(i, i + 0x8000));
    return btoa(s);
  });
  return createHash('sha256').update(Buffer.from(b64, 'base64')).digest('hex');
}

// Type into the place field of person pi, place i, and choose the option whose text matches.
async function choosePlace(pi, i, query, optionText, how) {
  const input = page.locator(`[data-place-search="${pi}-${i}"]`);
  await input.fill('');
  await input.pressSequentially(query, { delay: 20 });
  // the options answering the whole query (an earlier prefix's may show first)
  const listbox = page.locator(`#${await input.getAttribute('aria-controls')}[data-query="${query}"]`);
  const option = listbox.getByRole('option', { name: optionText }).first();
  await option.waitFor();
  if (how === 'keyboard') {
    // the first option is active; move to the wanted one with the arrow keys
    const texts = await listbox.getByRole('option').allTextContents();
    const k = texts.findIndex((t) => t.includes(optionText));
    for (let j = 0; j < k; j++) await input.press('ArrowDown');
    await input.press('Enter');
  } else {
    await option.click();
  }
  await listbox.waitFor({ state: 'hidden' });
}

async function expectFocused(locator) {
  assert.ok(await locator.evaluate((el) => el === document.activeElement), 'focus should move to the new field');
}

// How many pixels of an 8-bit RGB PNG have exactly each of `colours` ('#rrggbb').
function countColours(png, colours) {
  const width = png.readUInt32BE(16), height = png.readUInt32BE(20);
  assert.equal(png[24], 8, 'bit depth'); assert.equal(png[25], 2, 'colour type RGB');
  const idat = [];
  for (let at = 8; at < png.length;) {
    const len = png.readUInt32BE(at), type = png.toString('latin1', at + 4, at + 8);
    if (type === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 3, prev = Buffer.alloc(stride), row = Buffer.alloc(stride);
  const wanted = colours.map((c) => parseInt(c.slice(1), 16));
  const counts = colours.map(() => 0);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)], line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) { // PNG filters (RFC 2083 §6)
      const a = x >= 3 ? row[x - 3] : 0, b = prev[x], c = x >= 3 ? prev[x - 3] : 0;
      const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][f];
      row[x] = (line[x] + pred) & 255;
    }
    for (let x = 0; x < stride; x += 3) {
      const k = wanted.indexOf((row[x] << 16) | (row[x + 1] << 8) | row[x + 2]);
      if (k >= 0) counts[k]++;
    }
    row.copy(prev);
  }
  return counts;
}

const placeRow = (pi, i) => page.locator(`#people > li:nth-child(${pi + 1}) .place:nth-child(${i + 1})`);

// A card of the size picker, by its size as it reads ("8 × 10 in", "A4").
const pageSize = (name) => page.getByRole('radio', { name: new RegExp(`^${name.replace(/[()]/g, '\\$&')}`) });

// axe-core (pinned in package.json) run on the page as it is: every violation, at every impact,
// as "rule (impact): elements".
const AXE = join(dirname(fileURLToPath(import.meta.url)), 'node_modules/axe-core/axe.min.js');
async function axeViolations(p = page) {
  if (!await p.evaluate(() => Boolean(window.axe))) await p.addScriptTag({ path: AXE });
  const result = await p.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

// The places of the map as the server holds it, and the point of the sphere that faces the
// viewer when the globe is centred on them: the mean of their unit vectors.
function centroidOf(people) {
  let x = 0, y = 0, z = 0;
  const r = Math.PI / 180;
  for (const l of people.flatMap((p) => p.locations)) {
    x += Math.cos(l.latitude * r) * Math.cos(l.longitude * r);
    y += Math.cos(l.latitude * r) * Math.sin(l.longitude * r);
    z += Math.sin(l.latitude * r);
  }
  return [Math.atan2(y, x) / r, Math.atan2(z, Math.hypot(x, y)) / r];
}
const near = (a, b, tol, what) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a}, expected ${b} ± ${tol}`);

test('the page loads and previews the sheet with its bleed', async () => {
  await waitPreviewAfter(0);
  const size = await page.$eval('#preview-img', (img) => [img.naturalWidth, img.naturalHeight]);
  // 18x24 with 1/8" bleed on every side: 18.25 × 24.25 in
  assert.ok(Math.abs(size[0] / size[1] - 18.25 / 24.25) < 0.01, `preview is ${size}`);
  const trim = await page.$eval('#trim', (t) => [t.style.left, t.style.top]);
  assert.equal(trim[0], `${(100 * 9 / (18.25 * 72)).toFixed(3)}%`);
  assert.equal(trim[1], `${(100 * 9 / (24.25 * 72)).toFixed(3)}%`);
  const dpi = Number(new URL(renders.at(-1)).searchParams.get('dpi'));
  assert.ok(dpi >= 10 && dpi <= 100, `preview asked for ${dpi} DPI`);
});

test('axe-core finds nothing on the empty page', async () => {
  await settle();
  assert.deepEqual(await axeViolations(), []);
});

test('a title and two people with two places each, found by name', async () => {
  await page.fill('#title', 'The Silva Family');
  await page.fill('#subtitle', '1990–2024');
  await page.fill('[data-person="0"]', 'Ana');
  await page.click('.person:nth-child(1) .add-place');
  await choosePlace(0, 0, 'sao p', 'São Paulo', 'keyboard');
  await page.click('.person:nth-child(1) .add-place');
  await choosePlace(0, 1, 'zur', 'Zürich');
  await placeRow(0, 0).locator('input.date').fill('1990-05-01');
  await placeRow(0, 1).locator('input.date').fill('2010-09-15');

  await page.click('#add-person');
  await page.fill('[data-person="1"]', 'Ben');
  await page.click('.person:nth-child(2) .add-place');
  await choosePlace(1, 0, 'lond', 'London');
  await page.click('.person:nth-child(2) .add-place');
  await choosePlace(1, 1, 'tok', 'Tokyo', 'keyboard');

  assert.ok(Math.abs(Number(await placeRow(0, 0).locator('input.lat').inputValue()) + 23.5) < 0.2);
  assert.ok(Math.abs(Number(await placeRow(0, 1).locator('input.lon').inputValue()) - 8.55) < 0.1);
  await settle();
  assert.equal(await page.$eval('#preview', (f) => f.dataset.state), 'ready');
  const map = lastRenderedMap();
  assert.equal(map.title, 'The Silva Family');
  assert.deepEqual(map.people.map((p) => p.name), ['Ana', 'Ben']);
  assert.deepEqual(map.people.map((p) => p.locations.map((l) => l.name)), [['São Paulo', 'Zürich'], ['London', 'Tokyo']]);
  assert.equal(map.people[0].locations[1].countryCode, 'CH');
  assert.equal(map.people[0].locations[0].date, '1990-05-01');
  // the first edit made the map, once; the URL names it, its edit token only in the fragment
  await waitSaved();
  assert.match(page.url(), /\/\?map=[0-9a-f-]{36}#edit=[A-Za-z0-9_-]{43}$/);
  assert.equal(posts(), 1, `requests: ${mapRequests}`);
  assert.equal(mapCount(), mapsAtStart + 1);
});

test('a new map centres the globe on the family\'s places as they are added', async () => {
  await waitSaved();
  const { map } = await getMap(openId());
  const [lon, lat] = centroidOf(map.data.people);
  // rotate [-λ, -φ]: the places' centroid faces the viewer (here north of the equator, near London)
  near(map.data.rotation[0], -lon, 0.1, 'saved spin');
  near(map.data.rotation[1], -lat, 0.1, 'saved tilt');
  assert.ok(lat > 40 && Math.abs(lon) < 10, `centroid ${lon}, ${lat}`);
  assert.equal(await page.inputValue('#rot-lambda'), String(map.data.rotation[0]));
  assert.deepEqual(lastRenderedMap().rotation, map.data.rotation);
  // the controls say what they do in plain words
  assert.equal(await page.getByLabel('Spin', { exact: true }).getAttribute('id'), 'rot-lambda');
  assert.equal(await page.getByLabel('Tilt', { exact: true }).getAttribute('id'), 'rot-phi');
});

test('people and places reorder with their buttons', async () => {
  await page.getByRole('button', { name: 'Move Ben up' }).click();
  await page.getByRole('button', { name: 'Move Tokyo up' }).click();
  let names = await page.$$eval('.person-name', (els) => els.map((e) => e.value));
  assert.deepEqual(names, ['Ben', 'Ana']);
  assert.equal(await placeRow(0, 0).locator('.place-search').inputValue(), 'Tokyo');
  // and back, by keyboard: the focused button follows its person
  await page.getByRole('button', { name: 'Move Ben down' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'Move Tokyo down' }).click();
  names = await page.$$eval('.person-name', (els) => els.map((e) => e.value));
  assert.deepEqual(names, ['Ana', 'Ben']);
  assert.equal(await placeRow(1, 1).locator('.place-search').inputValue(), 'Tokyo');
});

test('people and places reorder by dragging their handle, or by keyboard on it; undo puts them back', async () => {
  const names = () => page.$$eval('.person-name', (els) => els.map((e) => e.value));
  const placesOf = (pi) => page.$$eval(`#people > li:nth-child(${pi + 1}) .place-search`, (els) => els.map((e) => e.value));
  // press on the handle, move in steps to the top edge of the target row, let go
  const drag = async (handle, target) => {
    const h = await handle.boundingBox(), t = await target.boundingBox();
    const x = h.x + h.width / 2, y0 = h.y + h.height / 2, y1 = t.y + 3;
    await page.mouse.move(x, y0);
    await page.mouse.down();
    for (let k = 1; k <= 8; k++) await page.mouse.move(x, y0 + (y1 - y0) * k / 8);
    await page.mouse.up();
  };
  await drag(page.getByRole('button', { name: 'Reorder Tokyo' }), placeRow(1, 0));
  assert.deepEqual(await placesOf(1), ['Tokyo', 'London']);
  await drag(page.getByRole('button', { name: 'Reorder Ben' }), page.locator('#people > li:nth-child(1)'));
  assert.deepEqual(await names(), ['Ben', 'Ana']);
  await settle();
  assert.deepEqual(lastRenderedMap().people.map((p) => p.locations.map((l) => l.name)),
    [['Tokyo', 'London'], ['São Paulo', 'Zürich']]);
  // each drop is one step of the history
  await page.click('#undo');
  assert.deepEqual(await names(), ['Ana', 'Ben']);
  assert.deepEqual(await placesOf(1), ['Tokyo', 'London']);
  await page.click('#undo');
  assert.deepEqual(await placesOf(1), ['London', 'Tokyo']);
  // by keyboard: ↓ and ↑ on the focused handle move its row, and the focus goes with it
  await page.getByRole('button', { name: 'Reorder Ana' }).focus();
  await page.keyboard.press('ArrowDown');
  assert.deepEqual(await names(), ['Ben', 'Ana']);
  assert.match(await page.textContent('#edit-status'), /Moved Ana to position 2 of 2/);
  await expectFocused(page.getByRole('button', { name: 'Reorder Ana' }));
  await page.keyboard.press('ArrowUp');
  assert.deepEqual(await names(), ['Ana', 'Ben']);
  await settle();
  assert.deepEqual(lastRenderedMap().people.map((p) => p.locations.map((l) => l.name)),
    [['São Paulo', 'Zürich'], ['London', 'Tokyo']]);
});

test('switching the theme changes the preview', async () => {
  await settle();
  const n = await rendersDone();
  const hashBefore = await previewHash();
  assert.notEqual(await page.inputValue('#theme'), 'cool-blue');
  await page.selectOption('#theme', 'cool-blue');
  await waitPreviewAfter(n);
  assert.equal(lastRenderedMap().theme, 'cool-blue');
  assert.notEqual(await previewHash(), hashBefore, 'the preview image should change with the theme');
});

test('legend, place labels and the QR code are the family\'s choice', async () => {
  await settle();
  let n = await rendersDone();
  await page.uncheck('#legend');
  await page.selectOption('#labels', 'places-and-years');
  await page.uncheck('#qr');
  await waitPreviewAfter(n);
  await settle();
  let map = lastRenderedMap();
  assert.equal(map.legend, false);
  assert.equal(map.labels, 'places-and-years');
  assert.equal(map.qrUrl, null);
  n = await rendersDone();
  await page.check('#legend');
  await page.check('#qr');
  await page.selectOption('#labels', 'none');
  await waitPreviewAfter(n);
  await settle();
  map = lastRenderedMap();
  assert.ok(!('legend' in map) && !('labels' in map) && !('qrUrl' in map), JSON.stringify(map));
});

test('dragging the globe changes its rotation', async () => {
  await settle();
  const before = [Number(await page.inputValue('#rot-lambda')), Number(await page.inputValue('#rot-phi'))];
  const n = await rendersDone();
  const hashBefore = await previewHash();
  const box = await page.locator('#preview').boundingBox();
  const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  for (let k = 1; k <= 10; k++) await page.mouse.move(cx + 8 * k, cy + 3 * k);
  await page.mouse.up();
  const afterRot = [Number(await page.inputValue('#rot-lambda')), Number(await page.inputValue('#rot-phi'))];
  assert.ok(afterRot[0] > before[0] + 5, `λ ${before[0]} → ${afterRot[0]}: dragging right turns the globe east`);
  assert.ok(afterRot[1] < before[1] - 2, `φ ${before[1]} → ${afterRot[1]}: dragging down tilts it`);
  await waitPreviewAfter(n);
  await settle();
  assert.deepEqual(lastRenderedMap().rotation.slice(0, 2), afterRot);
  assert.notEqual(await previewHash(), hashBefore);
});

test('"Fit to places" centres the view again; a flat map is recentred and zoomed; reset', async () => {
  await settle();
  const dragged = [Number(await page.inputValue('#rot-lambda')), Number(await page.inputValue('#rot-phi'))];
  await page.getByRole('button', { name: 'Fit to places' }).click();
  await settle();
  await waitSaved();
  let { map } = await getMap(openId());
  const [lon, lat] = centroidOf(map.data.people);
  near(map.data.rotation[0], -lon, 0.1, 'spin after fit');
  near(map.data.rotation[1], -lat, 0.1, 'tilt after fit');
  assert.notDeepEqual(map.data.rotation.slice(0, 2), dragged);
  // a flat map follows: recentred on the middle of the places' longitudes (São Paulo -46.6 to
  // Tokyo 139.7, across Europe: about 46.5 east) and zoomed in past the whole world's width
  await page.selectOption('#projection', 'equirectangular');
  assert.equal(await page.locator('#rot-phi').isVisible(), false, 'tilt belongs to the globe');
  await settle();
  await waitSaved();
  ({ map } = await getMap(openId()));
  near(map.data.rotation[0], -46.5, 0.5, 'flat map centre meridian');
  assert.ok(map.data.zoom > 1.3 && map.data.zoom <= 4, `zoom ${map.data.zoom}`);
  assert.equal(await page.inputValue('#zoom'), String(map.data.zoom));
  // reset: the view a new map starts with, and it no longer follows the places
  await page.getByRole('button', { name: 'Reset view' }).click();
  await settle();
  assert.deepEqual(lastRenderedMap().rotation, [-20, -30, 0]);
  assert.equal(lastRenderedMap().zoom, 1);
  // back to the globe, fitted
  await page.selectOption('#projection', 'orthographic');
  await page.getByRole('button', { name: 'Fit to places' }).click();
  await settle();
  near(lastRenderedMap().rotation[0], -lon, 0.1, 'spin after the second fit');
  assert.equal(lastRenderedMap().zoom, 1);
  await waitSaved();
});

test('a latitude of 95 typed by hand shows the validator message by that field', async () => {
  const lat = placeRow(1, 0).locator('input.lat');
  const original = await lat.inputValue();
  await lat.fill('95');
  const error = placeRow(1, 0).locator('.field:has(input.lat) .field-error');
  await error.waitFor();
  assert.match(await error.textContent(), /between -90 and 90/);
  assert.equal(await lat.getAttribute('aria-invalid'), 'true');
  // the message is tied to the field for screen readers
  assert.ok((await lat.getAttribute('aria-describedby')).includes(await error.getAttribute('id')));
  assert.equal(await page.locator('#general-errors').isHidden(), true);
  // a bad export must not go out: saving is refused with the same message
  await page.click('#save');
  await page.waitForFunction(() => /Not saved/.test(document.querySelector('#save-status').textContent));
  await lat.fill(original);
  await error.waitFor({ state: 'hidden' });
  assert.equal(await lat.getAttribute('aria-invalid'), null);
});

test('edits are saved in place: a reload shows the same map and its edits, and no second map', async () => {
  await waitSaved();
  const id = openId();
  const url = page.url();
  // the edits since (theme, drag, …) went to the same map
  assert.ok(mapRequests.includes(`PUT /api/maps/${id}`), 'later edits are saved in place (PUT)');
  await page.reload();
  await waitReady();
  assert.equal(page.url(), url);
  assert.equal(await page.inputValue('#title'), 'The Silva Family');
  assert.equal(await page.inputValue('#subtitle'), '1990–2024');
  assert.deepEqual(await page.$$eval('.person-name', (els) => els.map((e) => e.value)), ['Ana', 'Ben']);
  assert.equal(await page.$$eval('.place', (els) => els.length), 4);
  assert.equal(await page.inputValue('#theme'), 'cool-blue');
  assert.equal(await saveState(), 'saved');
  // the server holds those edits under the same id, and still just one map of this page's
  const { map } = await getMap(id);
  assert.equal(map.data.title, 'The Silva Family');
  assert.equal(map.data.theme, 'cool-blue');
  assert.deepEqual(map.data.people.map((p) => p.locations.map((l) => l.name)), [['São Paulo', 'Zürich'], ['London', 'Tokyo']]);
  assert.equal(posts(), 1);
  assert.equal(mapCount(), mapsAtStart + 1);
  // it is one of "My maps", marked as the open one
  const mine = page.locator('#my-maps a[aria-current=page]');
  assert.equal(await mine.textContent(), 'The Silva Family');
  assert.equal(await mine.getAttribute('href'), new URL(url).pathname + new URL(url).search + new URL(url).hash);
});

test('a place typed as coordinates, then removed', async () => {
  await page.click('.person:nth-child(1) .add-place');
  const input = page.locator('[data-place-search="0-2"]');
  await expectFocused(input);
  // a row without a position yet is left out of the preview, not reported as an error
  await settle();
  assert.equal(await page.$eval('#preview', (f) => f.dataset.state), 'ready');
  assert.equal(await page.locator('.field-error:not(:empty)').count(), 0);
  await input.pressSequentially('-33.9, 18.42', { delay: 10 });
  const option = page.locator(`#${await input.getAttribute('aria-controls')}[data-query="-33.9, 18.42"] [role=option]`).first();
  await option.waitFor();
  assert.match(await option.textContent(), /-33\.9, 18\.42/);
  await input.press('Enter');
  assert.equal(await placeRow(0, 2).locator('input.lat').inputValue(), '-33.9');
  assert.equal(await placeRow(0, 2).locator('input.lon').inputValue(), '18.42');
  await settle();
  assert.deepEqual(lastRenderedMap().people[0].locations[2], { latitude: -33.9, longitude: 18.42, name: '-33.9, 18.42' });
  await page.getByRole('button', { name: 'Remove -33.9, 18.42' }).click();
  assert.equal(await page.$$eval('.place', (els) => els.length), 4);
  await settle();
  assert.equal(lastRenderedMap().people[0].locations.length, 2);
});

test('a renamed place without a pick is flagged and leaves the map; Enter takes the first option', async () => {
  const input = page.locator('[data-place-search="1-0"]');
  await input.fill('Paris');
  assert.equal(await placeRow(1, 0).locator('input.lat').inputValue(), '', 'the old position is gone');
  const note = placeRow(1, 0).locator('.place-note');
  assert.match(await note.textContent(), /Not on the map yet: pick “Paris” from the list/);
  await settle();
  assert.deepEqual(lastRenderedMap().people[1].locations.map((l) => l.name), ['Tokyo']);
  await input.press('Enter'); // the first option, once it has come
  await page.waitForFunction(() => document.querySelector('#people > li:nth-child(2) .place input.lat').value !== '');
  assert.ok(Math.abs(Number(await placeRow(1, 0).locator('input.lat').inputValue()) - 48.85) < 0.2);
  assert.equal(await note.textContent(), '');
  await input.fill('London');
  await input.press('Enter');
  await page.waitForFunction(() => document.querySelector('#people > li:nth-child(2) .place input.lat').value !== '');
  assert.ok(Math.abs(Number(await placeRow(1, 0).locator('input.lat').inputValue()) - 51.5) < 0.2);
  await settle();
  assert.deepEqual(lastRenderedMap().people[1].locations.map((l) => l.name), ['London', 'Tokyo']);
});

test('a year alone is a date; an impossible one is named in the field\'s format', async () => {
  const date = placeRow(0, 0).locator('input.date');
  await date.fill('2023-02-30');
  const error = placeRow(0, 0).locator('.field:has(input.date) .field-error');
  await error.waitFor();
  assert.match(await error.textContent(), /not a real calendar date \(got "2023-02-30"\)/);
  await date.fill('1990');
  await error.waitFor({ state: 'hidden' });
  await settle();
  assert.equal(lastRenderedMap().people[0].locations[0].date, '1990');
  await waitSaved();
  assert.equal((await getMap(openId())).map.data.people[0].locations[0].date, '1990');
});

test('removing a person says what went, and undo brings them back', async () => {
  await page.getByRole('button', { name: 'Remove Ben' }).click();
  assert.deepEqual(await page.$$eval('.person-name', (els) => els.map((e) => e.value)), ['Ana']);
  assert.match(await page.textContent('#edit-status'), /Removed Ben and their 2 places\. Undo/);
  await page.click('#undo');
  assert.deepEqual(await page.$$eval('.person-name', (els) => els.map((e) => e.value)), ['Ana', 'Ben']);
  assert.equal(await page.$$eval('.place', (els) => els.length), 4);
  await page.keyboard.press('Control+Shift+Z'); // redo: removed again
  assert.deepEqual(await page.$$eval('.person-name', (els) => els.map((e) => e.value)), ['Ana']);
  await page.keyboard.press('Control+Z');
  assert.deepEqual(await page.$$eval('.person-name', (els) => els.map((e) => e.value)), ['Ana', 'Ben']);
  await settle();
  assert.deepEqual(lastRenderedMap().people.map((p) => p.locations.length), [2, 2]);
  await waitSaved();
  assert.equal((await getMap(openId())).map.data.people.length, 2);
});

test('every control has a label, and the page fits a phone', async () => {
  // the first Tab stop skips to the editor, and shows itself when focused
  const skip = await page.evaluate(() => {
    const first = document.querySelector('a[href], button, input, select, [tabindex]');
    first.focus();
    const r = first.getBoundingClientRect();
    first.blur();
    return [first.textContent, first.getAttribute('href'), r.top >= 0];
  });
  assert.deepEqual(skip, ['Skip to the map editor', '#map-form', true]);
  const unlabelled = await page.$$eval('input, select, button', (els) => els
    .filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || e.textContent.trim() || e.closest('label')))
    .map((e) => e.outerHTML.slice(0, 80)));
  assert.deepEqual(unlabelled, []);
  await settle();
  const shot = process.env.AWM_SCREENSHOT || join(TMP, 'screenshot.png');
  await page.screenshot({ path: shot, fullPage: false });
  await page.setViewportSize({ width: 375, height: 800 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(overflow <= 376, `the page is ${overflow}px wide at 375px`);
  // every visible control a 44 px touch target: buttons, fields, and for a checkbox or a radio
  // button the label around it, which is what a finger taps
  const small = await page.$$eval('button, a.button, input, select', (els) => els.filter((e) => e.offsetParent)
    .map((e) => {
      const target = e.matches('[type=checkbox], [type=radio]') ? e.closest('label') : e;
      return [e.id || e.textContent.trim() || e.getAttribute('aria-label') || e.className, target.getBoundingClientRect()];
    })
    .filter(([, r]) => r.width < 44 || r.height < 44).map(([t, r]) => `${t} ${Math.round(r.width)}×${Math.round(r.height)}`));
  assert.deepEqual(small, []);
  // editing at the bottom of the form, the preview is still on the screen
  await page.locator('#export').scrollIntoViewIfNeeded();
  await page.locator('[data-place-search="1-1"]').focus(); // a field of the last place
  await page.evaluate(() => window.scrollTo(0, document.querySelector('#map-form').getBoundingClientRect().bottom
    + window.scrollY - window.innerHeight));
  const inView = async () => page.evaluate(() => {
    const r = document.querySelector('#preview').getBoundingClientRect();
    return { top: Math.round(r.top), bottom: Math.round(r.bottom), height: Math.round(r.height),
      scrolled: Math.round(window.scrollY), viewport: window.innerHeight };
  });
  let view = await inView();
  assert.ok(view.scrolled > 1000, `the form is scrolled to its end (${view.scrolled} px)`);
  assert.ok(view.top >= 0 && view.bottom <= view.viewport && view.height >= 200, `preview at ${JSON.stringify(view)}`);
  // and it shows the map as edited there
  let n = await rendersDone();
  await page.fill('#subtitle', '1990–2024 ');
  await page.locator('#export').scrollIntoViewIfNeeded();
  await waitPreviewAfter(n);
  view = await inView();
  assert.ok(view.top >= 0 && view.bottom <= view.viewport, `preview after an edit at ${JSON.stringify(view)}`);
  await page.screenshot({ path: join(TMP, 'phone.png'), fullPage: false });
  // "Hide preview" gives its room to the form; "Show preview" brings it back
  await page.getByRole('button', { name: 'Hide preview' }).click();
  assert.equal(await page.locator('#preview').isVisible(), false);
  await page.getByRole('button', { name: 'Show preview' }).click();
  assert.equal(await page.locator('#preview').isVisible(), true);
  n = await rendersDone();
  await page.fill('#subtitle', '1990–2024');
  await page.setViewportSize({ width: 1280, height: 1000 });
  await waitPreviewAfter(n);
});

test('the size picker draws each sheet to scale, with its real size', async () => {
  const { sizes } = await (await fetch(`${BASE}/api/export`)).json();
  // the picker's cards, as the page lays them out: name, centimetres, the sheet drawn
  const cards = async () => page.$$eval('#page-size .size', (els) => els.map((e) => {
    const r = e.querySelector('.sheet').getBoundingClientRect();
    return { value: e.querySelector('input').value, text: e.textContent, w: r.width, h: r.height };
  }));
  let shown = await cards();
  const portrait = sizes.filter((s) => s.widthInches <= s.heightInches);
  assert.deepEqual(shown.map((c) => c.value), portrait.map((s) => s.key));
  const longest = Math.max(...portrait.map((s) => s.heightInches));
  for (const [k, s] of portrait.entries()) {
    const c = shown[k];
    const cm = (v) => String(Number((v * 2.54).toFixed(1)));
    assert.ok(c.text.includes(`${cm(s.widthInches)} × ${cm(s.heightInches)} cm`), `${s.key}: ${c.text}`);
    near(c.w / c.h, s.widthInches / s.heightInches, 0.03, `${s.key}'s proportions`);
    near(c.h / shown.find((x) => x.value === '24x36').h, s.heightInches / longest, 0.03, `${s.key}'s size beside 24x36`);
  }
  assert.match(shown.find((c) => c.value === 'A4').text, /A4 \(8\.27 × 11\.69 in\)/);
  // picked by keyboard, as a radio group; landscape turns every sheet
  await pageSize('18 × 24 in').focus();
  await page.keyboard.press('ArrowRight');
  assert.equal(await pageSize('24 × 36 in').isChecked(), true);
  await page.check('input[name=orientation][value=landscape]');
  shown = await cards();
  assert.ok(shown.every((c) => c.w > c.h), 'landscape sheets are wider than tall');
  await settle();
  assert.match(renders.at(-1), /size=36x24/);
  await page.check('input[name=orientation][value=portrait]');
  await pageSize('18 × 24 in').check();
  await settle();
  assert.match(renders.at(-1), /size=18x24/);
});

test('export 8×10, follow the job to export_complete, download a 2475 × 3075 PNG', async () => {
  await pageSize('8 × 10 in').check();
  await page.check('input[name=orientation][value=portrait]');
  await page.click('#export');
  const job = page.locator('#job');
  await job.waitFor();
  try {
    await page.waitForFunction(() => document.querySelector('#job').dataset.state === 'export_complete',
      null, { timeout: Number(process.env.AWM_EXPORT_TIMEOUT_MS || 300_000) });
  } catch (e) {
    // say where the job stopped: the page's view and the server's
    const jobId = await job.getAttribute('data-job-id');
    const doc = await (await fetch(`${BASE}/api/jobs/${jobId}`)).text();
    assert.fail(`job ${jobId} did not complete (page says ${await job.getAttribute('data-state')}: `
      + `${await page.textContent('#job-status')}); server: ${doc}; ${e.message}`);
  }
  assert.match(await page.textContent('#job-status'), /Ready/);
  const link = page.locator('#download');
  await link.waitFor();
  assert.match(await link.textContent(), /PNG, 8x10/);
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const file = join(TMP, 'poster.png');
  await download.saveAs(file);
  const png = readFileSync(file);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(png.toString('latin1', 12, 16), 'IHDR');
  assert.equal(png.readUInt32BE(16), 2475);
  assert.equal(png.readUInt32BE(20), 3075);
  // Nobody picked a colour: the map carries none, and the poster draws each person in the
  // theme's palette (cool-blue, chosen above), as the swatches showed.
  const exported = lastRenderedMap();
  assert.deepEqual(exported.people.map((p) => p.color), [undefined, undefined]);
  const theme = (await (await fetch(`${BASE}/api/export`)).json()).themes.find((t) => t.id === 'cool-blue');
  const palette = theme.colors.paths.slice(0, 2);
  assert.deepEqual(await page.$$eval('.person input[type=color]', (els) => els.map((e) => e.value)), palette);
  const counts = countColours(png, palette);
  assert.ok(counts.every((n) => n > 500), `pixels in the palette colours ${palette}: ${counts}`);
  // named after the map and its size (the server's Content-Disposition)
  assert.equal(download.suggestedFilename(), 'The Silva Family – 8x10.png');
  // another size: the result shown belongs to an older version
  assert.equal(await page.locator('#job-stale').isVisible(), false);
  await pageSize('18 × 24 in').check();
  await page.locator('#job-stale').waitFor();
  assert.equal(await job.getAttribute('data-stale'), 'true');
  await pageSize('8 × 10 in').check(); // back as exported: current again
  await page.locator('#job-stale').waitFor({ state: 'hidden' });
});

test('axe-core finds nothing on the filled page, an export shown', async () => {
  await settle();
  assert.ok(await page.locator('.place').count() >= 4 && await page.locator('#job').isVisible());
  assert.deepEqual(await axeViolations(), []);
  // nor at phone width, nor with the place search's options open
  await page.setViewportSize({ width: 375, height: 800 });
  assert.deepEqual(await axeViolations(), []);
  const input = page.locator('[data-place-search="0-0"]');
  await input.focus();
  await input.press('End');
  await input.press('ArrowDown');
  await page.locator(`#${await input.getAttribute('aria-controls')} [role=option]`).first().waitFor();
  assert.deepEqual(await axeViolations(), []);
  await input.press('Escape');
  await page.setViewportSize({ width: 1280, height: 1000 });
});

test('an unsaved draft survives a reload, and leaving with it asks first', async () => {
  await waitSaved();
  const lat = placeRow(1, 0).locator('input.lat');
  const original = await lat.inputValue();
  await lat.fill('95'); // the server refuses it: the edit stays on this page only
  await page.waitForFunction(() => /^Not saved: .*See the marked fields/.test(document.querySelector('#save-status').textContent));
  let asked = null;
  page.once('dialog', async (d) => { asked = d.type(); await d.accept(); });
  await page.reload();
  await waitReady();
  assert.equal(asked, 'beforeunload', 'leaving with unsaved changes should ask first');
  assert.equal(await placeRow(1, 0).locator('input.lat').inputValue(), '95', 'the draft came back');
  await page.waitForSelector('#save-status[data-state=error]');
  assert.equal((await getMap(openId())).map.data.people[1].locations[0].latitude, Number(original));
  // fixed, it is saved, and leaving no longer asks
  await placeRow(1, 0).locator('input.lat').fill(original);
  await waitSaved();
  assert.equal(await page.evaluate(() => {
    const e = new Event('beforeunload', { cancelable: true });
    window.dispatchEvent(e);
    return e.defaultPrevented;
  }), false);
  assert.equal(posts(), 1);
});

test('the edit link, opened in another browser, edits the same map', async () => {
  await waitSaved();
  const id = openId();
  await page.click('#copy-edit');
  const link = await page.inputValue('#share-link');
  assert.equal(link, page.url());
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link);
  assert.match(await page.textContent('#share-status'), /Edit link copied/);

  const { context, p, requests } = await otherDevice();
  try {
    await p.goto(link);
    await waitReady(p);
    assert.equal(await p.inputValue('#title'), 'The Silva Family');
    assert.equal(await saveState(p), 'saved');
    assert.equal(await p.locator('#title').isEnabled(), true);
    await p.fill('#subtitle', 'edited on the other device');
    await waitSaved(p);
    assert.deepEqual(requests.filter((r) => /^(POST|PUT|DELETE) \/api\/maps/.test(r)), [`PUT /api/maps/${id}`]);
  } finally {
    await context.close();
  }
  assert.equal((await getMap(id)).map.data.subtitle, 'edited on the other device');
  assert.equal(mapCount(), mapsAtStart + 1);
  // back here, the map shows that edit
  await page.reload();
  await waitReady();
  assert.equal(await page.inputValue('#subtitle'), 'edited on the other device');
});

test('the view link is read-only, and "Make a copy" makes a new map to edit', async () => {
  await waitSaved();
  const id = openId();
  const updated = (await getMap(id)).map.updated_at;
  await page.click('#copy-view');
  const link = await page.inputValue('#share-link');
  assert.equal(link, `${BASE}/?map=${id}`);
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link);

  const { context, p, requests } = await otherDevice();
  try {
    await p.goto(link);
    await waitReady(p);
    await settle(p);
    assert.equal(await p.inputValue('#title'), 'The Silva Family');
    assert.equal(await saveState(p), 'readonly');
    assert.equal(await p.locator('#readonly-note').isVisible(), true);
    for (const sel of ['#title', '#subtitle', '#theme', '#projection', '#zoom', '#rot-lambda', '#add-person',
      '.person-name >> nth=0', '.place-search >> nth=0', 'input.lat >> nth=0', 'input[type=color] >> nth=0',
      '#fit', '#reset-view', '[data-person-handle="0"]', '[data-place-handle="0-0"]']) {
      assert.equal(await p.locator(sel).isDisabled(), true, `${sel} should be disabled`);
    }
    assert.equal(await p.locator('#save').isVisible(), false);
    assert.equal(await p.locator('#copy-edit').isVisible(), false);
    assert.equal(await p.locator('#export').isEnabled(), true, 'a viewer may still print the map');
    // dragging the globe does not turn it
    const lambda = await p.inputValue('#rot-lambda');
    const box = await p.locator('#preview').boundingBox();
    await p.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await p.mouse.down();
    for (let k = 1; k <= 5; k++) await p.mouse.move(box.x + box.width / 2 + 10 * k, box.y + box.height / 2);
    await p.mouse.up();
    assert.equal(await p.inputValue('#rot-lambda'), lambda);
    assert.deepEqual(requests.filter((r) => /^(POST|PUT|DELETE) \/api\/maps/.test(r)), [], 'a viewer sends no change');
    assert.equal((await getMap(id)).map.updated_at, updated);

    await p.click('#make-copy');
    await p.waitForURL(/#edit=/);
    await waitReady(p);
    const copy = openId(p);
    assert.notEqual(copy, id);
    assert.equal(await p.inputValue('#title'), 'The Silva Family');
    assert.equal(await p.locator('#title').isEnabled(), true);
    assert.equal(await p.locator('#my-maps a', { hasText: 'The Silva Family' }).count(), 1);
    await p.fill('#title', 'Our copy');
    await waitSaved(p);
    assert.equal((await getMap(copy)).map.data.title, 'Our copy');
  } finally {
    await context.close();
  }
  assert.equal((await getMap(id)).map.data.title, 'The Silva Family', 'the original is untouched');
  assert.equal(mapCount(), mapsAtStart + 2);
});

test('the server stopped mid-edit shows "Not saved", and the edit is saved when it returns', async () => {
  await waitSaved();
  const id = openId();
  serverDown = true;
  await serve('stop');
  try {
    await page.fill('#subtitle', 'typed while the server was away');
    await page.waitForFunction(() => /^Not saved: cannot reach the server/.test(document.querySelector('#save-status').textContent));
  } finally {
    await serve('start');
  }
  await waitSaved(); // the retry got through
  serverDown = false;
  assert.equal((await getMap(id)).map.data.subtitle, 'typed while the server was away');
  assert.equal(posts(), 1);
});

test('My maps: rename and delete, after a confirmation', async () => {
  await waitSaved();
  const silva = openId();
  // a second map of this browser's
  await page.click('#new-map');
  await page.waitForURL(`${BASE}/`);
  await waitReady();
  assert.equal(await saveState(), 'new');
  await page.fill('#title', 'Second map');
  await waitSaved();
  const second = openId();
  assert.notEqual(second, silva);
  assert.deepEqual(await page.$$eval('#my-maps a', (as) => as.map((a) => a.textContent)), ['Second map', 'The Silva Family']);

  // rename a map that is not open
  await page.getByRole('button', { name: 'Rename The Silva Family' }).click();
  await page.getByLabel('New name for The Silva Family').fill('The Silvas');
  await page.getByRole('button', { name: 'Save name' }).click();
  await page.waitForFunction(() => /Renamed/.test(document.querySelector('#my-maps-status').textContent));
  assert.equal((await getMap(silva)).map.data.title, 'The Silvas');
  assert.equal((await getMap(silva)).map.data.people.length, 2, 'only the title changed');
  // and the open one, by keyboard: its title field follows
  await page.getByRole('button', { name: 'Rename Second map' }).click();
  await page.getByLabel('New name for Second map').fill('Second, renamed');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /Renamed/.test(document.querySelector('#my-maps-status').textContent)
    && document.querySelector('#title').value === 'Second, renamed');
  await waitSaved();
  assert.equal((await getMap(second)).map.data.title, 'Second, renamed');
  assert.deepEqual(await page.$$eval('#my-maps a', (as) => as.map((a) => a.textContent)), ['Second, renamed', 'The Silvas']);

  // delete asks first: declined, nothing happens
  let asked = null;
  page.once('dialog', async (d) => { asked = d.message(); await d.dismiss(); });
  await page.getByRole('button', { name: 'Delete The Silvas' }).click();
  await page.waitForFunction(() => true);
  assert.match(asked, /Delete “The Silvas”\?/);
  assert.equal((await getMap(silva)).status, 200);
  const count = mapCount();
  // accepted: the map is gone for everyone, and from the list
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Delete The Silvas' }).click();
  await page.waitForFunction(() => /Deleted/.test(document.querySelector('#my-maps-status').textContent));
  assert.equal((await getMap(silva)).status, 404);
  assert.equal(mapCount(), count - 1);
  assert.deepEqual(await page.$$eval('#my-maps a', (as) => as.map((a) => a.textContent)), ['Second, renamed']);
  // deleting the open map leaves a new one in its place
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Delete Second, renamed' }).click();
  await page.waitForURL(`${BASE}/`);
  await waitReady();
  assert.equal((await getMap(second)).status, 404);
  assert.equal(await saveState(), 'new');
  assert.equal(await page.locator('#my-maps li').count(), 0);
  assert.equal(mapCount(), count - 2);
});

test('place search finds what people type: three scripts, "City, Country", a village', async () => {
  await page.fill('[data-person="0"]', 'Mei');
  // each query in a row of its own; the first option is the one Enter takes
  const cases = [
    ['東京', 'Tokyo, Japan', 35.69],
    ['Москва', 'Moscow, Russia', 55.75],
    ['München', 'Munich, Bavaria, Germany', 48.14],
    ['Paris, France', 'Paris, Île-de-France, France', 48.85],
    ['Hallstatt', 'Hallstatt, Upper Austria, Austria', 47.56],
  ];
  for (const [i, [query, option, lat]] of cases.entries()) {
    await page.click('.person:nth-child(1) .add-place');
    const input = page.locator(`[data-place-search="0-${i}"]`);
    await input.pressSequentially(query, { delay: 20 });
    const listbox = page.locator(`#${await input.getAttribute('aria-controls')}[data-query="${query}"]`);
    const first = listbox.getByRole('option').first();
    await first.waitFor();
    assert.equal(await first.locator('span').textContent(), option, `first option for ${query}`);
    await input.press('Enter');
    await listbox.waitFor({ state: 'hidden' });
    near(Number(await placeRow(0, i).locator('input.lat').inputValue()), lat, 0.1, `latitude of ${query}`);
  }
  await settle();
  assert.deepEqual(lastRenderedMap().people[0].locations.map((l) => l.name),
    ['Tokyo', 'Moscow', 'Munich', 'Paris', 'Hallstatt']);
});

test('no script errors on the page', () => {
  assert.deepEqual(pageErrors, []);
});
