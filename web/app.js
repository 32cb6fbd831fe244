// AWM web page: edit a map definition, preview it exactly as it prints (GET /render), save it
// as you type (created once by POST /api/maps, then PUT /api/maps/{id} with its edit token),
// export it (POST /api/export) and follow the job (GET /api/jobs/{id}).
// No framework: `state` holds the map; inputs write into it as the user types, and the people
// list is rebuilt from it when its structure changes (add, remove, reorder, open a saved map).

const PREVIEW_DEBOUNCE_MS = 250;
const DRAG_THROTTLE_MS = 120;
const PREVIEW_RETRY_MS = 500; // the first wait after "renderer busy" (503)
const JOB_POLL_MS = 1000;

const $ = (sel) => document.querySelector(sel);

let nextId = 1;
const newPersonId = () => `person-${Date.now().toString(36)}-${nextId++}`;

const state = {
  title: 'Our Family Map',
  subtitle: '',
  people: [],
  projection: 'orthographic',
  theme: 'antique-parchment',
  rotation: [-20, -30, 0],
  zoom: 1,
  pan: null,   // kept from an opened map; not edited here
  qrUrl: null, // idem
  legend: true,     // MAPS-AND-PRINT §4 layer 9
  labels: 'none',   // layer 8: none, places, places-and-years
  qr: true,         // false: qrUrl null, no QR group
  sizeKey: '18x24',
  autoFit: true,    // a new map's view follows its places (fitView) until turned by hand
};
// From GET /api/export, the server's own description: the sizes, the page geometry (bleed, safe
// margin, the map frame's inset) and each theme's colours. The first preview does not wait for it:
// until it answers, a size key "WxH" is read as inches and the page geometry is the spec's
// (MAPS-AND-PRINT §2); the answer replaces both.
let sizes = [];
let page = { bleedPt: 9, safePt: 18, frameInsetPt: 36, dpi: 300 };
let themes = [];         // [{id, displayName, colors: {…, paths: [...]}}]

// ---- the map definition sent to the API ------------------------------------------------

// A typed coordinate: a number when it reads as one, undefined when empty (the validator then
// says "required"), else the text itself so the validator names the field and what is wrong.
function coordinate(text) {
  const t = String(text ?? '').trim();
  if (t === '') return undefined;
  const n = Number(t.replace(',', '.'));
  return Number.isFinite(n) ? n : t;
}

const isBlankPlace = (l) => !String(l.latitude).trim() && !String(l.longitude).trim();

// The definition as the API takes it. For the preview, places not yet given a position (a row
// just added, a name still being typed) are left out rather than reported as errors;
// previewIndex then maps each sent place back to its row, so error paths still find their field.
function definition(forPreview = false, previewIndex = []) {
  const def = {
    title: state.title,
    people: state.people.map((p, pi) => {
      const person = { id: p.id, name: p.name };
      if (p.color) person.color = p.color;
      const rows = p.locations.map((l, i) => [l, i]).filter(([l]) => !forPreview || !isBlankPlace(l));
      previewIndex[pi] = rows.map(([, i]) => i);
      person.locations = rows.map(([l]) => {
        const loc = { latitude: coordinate(l.latitude), longitude: coordinate(l.longitude) };
        if (l.name.trim()) loc.name = l.name.trim();
        if (l.countryCode) loc.countryCode = l.countryCode;
        if (l.date) loc.date = l.date;
        return loc;
      });
      return person;
    }),
    projection: state.projection,
    rotation: state.rotation.map(coordinate),
    zoom: state.zoom,
    theme: state.theme,
  };
  if (state.subtitle.trim()) def.subtitle = state.subtitle;
  if (state.pan) def.pan = state.pan;
  if (!state.qr) def.qrUrl = null;
  else if (state.qrUrl) def.qrUrl = state.qrUrl;
  if (!state.legend) def.legend = false;
  if (state.labels !== 'none') def.labels = state.labels;
  return def;
}

function base64url(text) {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// The chosen size; before GET /api/export answers, one read from its key ("18x24", "8x10-landscape").
function currentSize() {
  const known = sizes.find((s) => s.key === state.sizeKey) || sizes[0];
  if (known) return known;
  const m = /^(\d+(?:\.\d+)?)x(\d+(?:\.\d+)?)(-landscape)?$/.exec(state.sizeKey);
  if (!m) return null;
  const [a, b] = [Number(m[1]), Number(m[2])].sort((x, y) => (m[3] ? y - x : x - y));
  return { key: state.sizeKey, widthInches: a, heightInches: b, pixelWidth: Math.round(a * 300), pixelHeight: Math.round(b * 300) };
}

// ---- errors by field -------------------------------------------------------------------

// "people[0].locations[1].latitude: must be between -90 and 90" → the input whose data-path is
// that path (or, failing that, the nearest enclosing one); the rest go to the general area.
function showErrors(details, fallbackMessage) {
  clearErrors();
  const general = [];
  for (const line of details || []) {
    const m = /^([A-Za-z0-9_.[\]]+): (.*)$/s.exec(line);
    let el = null;
    let exact = false;
    if (m) {
      // The field itself, else the nearest enclosing element that has a path (a place row).
      for (let path = m[1]; path && !el;) {
        el = document.querySelector(`[data-path="${CSS.escape(path)}"]`);
        exact = el !== null && path === m[1];
        const shorter = path.replace(/(\.[^.[\]]+|\[\d+\])$/, '');
        path = shorter === path ? '' : shorter;
      }
    }
    const msgEl = el && errorElementFor(el);
    if (msgEl) {
      const text = exact ? m[2] : line;
      msgEl.textContent = msgEl.textContent ? `${msgEl.textContent}\n${text}` : text;
      if (el.matches('input, select')) el.setAttribute('aria-invalid', 'true');
    } else {
      general.push(line);
    }
  }
  if (!details?.length && fallbackMessage) general.push(fallbackMessage);
  const box = $('#general-errors');
  box.textContent = general.join('\n');
  box.hidden = general.length === 0;
}

function clearErrors() {
  document.querySelectorAll('.field-error').forEach((e) => { e.textContent = ''; });
  document.querySelectorAll('[aria-invalid]').forEach((e) => e.removeAttribute('aria-invalid'));
  const box = $('#general-errors');
  box.textContent = '';
  box.hidden = true;
}

// The message element of a field (created next to it once, tied by aria-describedby).
function errorElementFor(el) {
  if (el.dataset.errorId) return document.getElementById(el.dataset.errorId);
  const id = `err-${Math.random().toString(36).slice(2, 10)}`;
  const span = document.createElement('span');
  span.className = 'field-error';
  span.id = id;
  span.setAttribute('role', 'alert');
  const holder = el.closest('.field') || el.parentElement;
  if (el.matches('ol, ul')) el.before(span); else holder.append(span);
  el.dataset.errorId = id;
  el.setAttribute('aria-describedby', [el.getAttribute('aria-describedby'), id].filter(Boolean).join(' '));
  return span;
}

let lastErrors = { details: [], message: '' }; // re-applied after the form is rebuilt

// ---- API --------------------------------------------------------------------------------

// token: a map's edit token (Authorization: Bearer); timeoutMs: give up after that long
// (the fetch then throws a TimeoutError).
async function api(method, path, body, { token, timeoutMs } = {}) {
  const headers = {};
  if (body) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(path, {
    method,
    headers,
    body: body ? JSON.stringify(body) : undefined,
    signal: timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined,
  });
  let json = null;
  try { json = await res.json(); } catch { /* not JSON */ }
  return { status: res.status, ok: res.ok, json };
}

// ---- the form ---------------------------------------------------------------------------

function field(label, input, path, extraClass) {
  const wrap = document.createElement('div');
  wrap.className = `field ${extraClass || ''}`.trim();
  const id = `f-${Math.random().toString(36).slice(2, 10)}`;
  input.id = id;
  if (path) input.dataset.path = path;
  const lab = document.createElement('label');
  lab.htmlFor = id;
  lab.textContent = label;
  wrap.append(lab, input);
  return wrap;
}

function button(text, label, onClick, cls = 'icon') {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = cls;
  b.textContent = text;
  if (label) b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

function textInput(value, onInput, attrs = {}) {
  const i = document.createElement('input');
  i.value = value ?? '';
  i.autocomplete = 'off';
  Object.assign(i, attrs);
  i.addEventListener('input', () => { onInput(i.value); schedulePreview(); });
  return i;
}

function move(arr, from, to) {
  if (to < 0 || to >= arr.length) return false;
  const [x] = arr.splice(from, 1);
  arr.splice(to, 0, x);
  return true;
}

// Rebuild the people list; focusSel names an element to focus afterwards.
function renderPeople(focusSel) {
  const list = $('#people');
  list.replaceChildren(...state.people.map(renderPerson));
  showErrors(lastErrors.details, lastErrors.message);
  applyReadOnly();
  if (focusSel) document.querySelector(focusSel)?.focus();
}

function renderPerson(p, pi) {
  const li = document.createElement('li');
  li.className = 'person';
  li.dataset.index = pi;
  const who = p.name.trim() || `person ${pi + 1}`;

  const head = document.createElement('div');
  head.className = 'person-head';
  const name = textInput(p.name, (v) => { p.name = v; }, { maxLength: 100, className: 'person-name' });
  name.dataset.person = pi;
  const colour = document.createElement('input');
  colour.type = 'color';
  // A person without a colour of their own is drawn in the theme's palette (by position), as
  // the poster does; the swatch shows that colour until one is picked.
  colour.value = p.color || themeColour(pi);
  colour.dataset.themeColour = p.color ? 'false' : 'true';
  colour.addEventListener('input', () => { p.color = colour.value; colour.dataset.themeColour = 'false'; schedulePreview(); });
  const tools = document.createElement('div');
  tools.className = 'tools';
  tools.append(
    button('↑', `Move ${who} up`, () => { if (move(state.people, pi, pi - 1)) changed(`[data-person-up="${pi - 1}"]`); }),
    button('↓', `Move ${who} down`, () => { if (move(state.people, pi, pi + 1)) changed(`[data-person-down="${pi + 1}"]`); }),
    button('✕', `Remove ${who}`, () => {
      state.people.splice(pi, 1);
      changed('#add-person');
      sayRemoved(p.name.trim() || `person ${pi + 1}`, p.locations.length);
    }),
  );
  tools.children[0].dataset.personUp = pi;
  tools.children[1].dataset.personDown = pi;
  tools.children[2].dataset.label = 'Remove %s';
  tools.children[0].dataset.label = 'Move %s up';
  tools.children[1].dataset.label = 'Move %s down';
  tools.children[0].disabled = pi === 0;
  tools.children[1].disabled = pi === state.people.length - 1;
  const handle = reorderHandle(who, state.people, pi, (to) => `[data-person-handle="${to}"]`);
  handle.dataset.personHandle = pi;
  tools.prepend(handle);
  head.append(field(`Person ${pi + 1} name`, name, `people[${pi}].name`),
    field('Colour', colour, `people[${pi}].color`), tools);
  li.append(head);

  const places = document.createElement('ol');
  places.className = 'places';
  places.dataset.path = `people[${pi}].locations`;
  places.setAttribute('aria-label', `Places of ${who}`);
  p.locations.forEach((l, li2) => places.append(renderPlace(p, pi, l, li2)));
  li.append(places);
  const add = button('Add place', `Add place for ${who}`, () => {
    p.locations.push({ name: '', countryCode: '', latitude: '', longitude: '', date: '' });
    changed(`[data-place-search="${pi}-${p.locations.length - 1}"]`);
  }, 'secondary add-place');
  add.dataset.label = 'Add place for %s'; // begins with the visible words (WCAG 2.5.3)
  li.append(add);
  return li;
}

function renderPlace(p, pi, l, i) {
  const row = document.createElement('li');
  row.className = 'place';
  const path = `people[${pi}].locations[${i}]`;
  row.dataset.path = path;
  const what = l.name.trim() || `place ${i + 1}`;

  const search = placeSearch(l, pi, i);
  const lat = textInput(l.latitude, (v) => { l.latitude = v; }, { inputMode: 'decimal', className: 'lat' });
  const lon = textInput(l.longitude, (v) => { l.longitude = v; }, { inputMode: 'decimal', className: 'lon' });
  // A year, a year and month, or a full date, as the spec allows (people often know only the year);
  // the validator's messages name the same three forms.
  const date = textInput(l.date, (v) => { l.date = v.trim(); }, { className: 'date', maxLength: 10, placeholder: 'YYYY, YYYY-MM or YYYY-MM-DD' });
  date.inputMode = 'numeric';
  search.lat = lat;
  search.lon = lon;

  const tools = document.createElement('div');
  tools.className = 'tools';
  const up = button('↑', `Move ${what} up`, () => { if (move(p.locations, i, i - 1)) changed(`[data-place-up="${pi}-${i - 1}"]`); });
  const down = button('↓', `Move ${what} down`, () => { if (move(p.locations, i, i + 1)) changed(`[data-place-down="${pi}-${i + 1}"]`); });
  const del = button('✕', `Remove ${what}`, () => {
    p.locations.splice(i, 1);
    changed(`[data-person="${pi}"]`);
    sayRemoved(l.name.trim() || `place ${i + 1}`, 0);
  });
  up.dataset.placeUp = `${pi}-${i}`;
  down.dataset.placeDown = `${pi}-${i}`;
  up.dataset.label = 'Move %s up';
  down.dataset.label = 'Move %s down';
  del.dataset.label = 'Remove %s';
  up.disabled = i === 0;
  down.disabled = i === p.locations.length - 1;
  const handle = reorderHandle(what, p.locations, i, (to) => `[data-place-handle="${pi}-${to}"]`);
  handle.dataset.placeHandle = `${pi}-${i}`;
  tools.append(handle, up, down, del);

  row.append(search.field,
    field('Latitude', lat, `${path}.latitude`),
    field('Longitude', lon, `${path}.longitude`),
    field('Date (year, year-month or full date)', date, `${path}.date`),
    tools);
  return row;
}

// The handle beside a person's or a place's ↑ ↓ buttons: drag it (mouse, pen or finger) to another
// position among its siblings, or press ↑ / ↓ while it has focus. The row moves on the page while it
// is dragged; the state changes once, on the drop (one undo step), and Escape or a cancelled
// pointer puts the row back.
function reorderHandle(what, arr, from, focusFor) {
  const h = button('⠿', `Reorder ${what}`, () => {}, 'icon handle');
  h.dataset.label = 'Reorder %s';
  h.setAttribute('aria-describedby', 'reorder-help');
  const moved = (to) => {
    changed(focusFor(to));
    const name = (arr[to].name || '').trim() || what;
    setStatus($('#edit-status'), `Moved ${name} to position ${to + 1} of ${arr.length}.`);
  };
  h.addEventListener('keydown', (e) => {
    const d = { ArrowUp: -1, ArrowDown: 1 }[e.key];
    if (!d || doc.readOnly) return;
    e.preventDefault();
    if (move(arr, from, from + d)) moved(from + d);
  });
  h.addEventListener('pointerdown', (e) => {
    if (e.button !== 0 || doc.readOnly) return;
    e.preventDefault();
    const item = h.closest('li');
    const list = item.parentElement;
    item.classList.add('dragged');
    // on the document, not captured by the handle: moving the row in the page releases a capture
    const listeners = new AbortController();
    const on = (type, fn) => document.addEventListener(type, fn, { signal: listeners.signal });
    on('pointermove', (ev) => {
      if (ev.pointerId !== e.pointerId) return;
      // before the first sibling whose middle is below the pointer, else last
      const before = [...list.children].find((c) => c !== item
        && ev.clientY < c.getBoundingClientRect().top + c.getBoundingClientRect().height / 2);
      if (before && item.nextElementSibling !== before) list.insertBefore(item, before);
      else if (!before && list.lastElementChild !== item) list.append(item);
    });
    const end = (drop) => {
      listeners.abort();
      item.classList.remove('dragged');
      const to = [...list.children].indexOf(item);
      if (to === from) return;
      if (drop && move(arr, from, to)) moved(to);
      else renderPeople(focusFor(from)); // cancelled: back where it was
    };
    on('pointerup', () => end(true));
    on('pointercancel', () => end(false));
    on('keydown', (ev) => { if (ev.key === 'Escape') { ev.preventDefault(); end(false); } });
  });
  return h;
}

// A place name field that searches GET /api/places as you type (a combobox: arrows, Enter,
// Escape), or takes "latitude, longitude".
function placeSearch(l, pi, i) {
  const input = document.createElement('input');
  input.value = l.name;
  input.autocomplete = 'off';
  input.maxLength = 100;
  input.className = 'place-search';
  input.dataset.placeSearch = `${pi}-${i}`;
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-expanded', 'false');
  input.placeholder = 'City, or 48.85, 2.35';
  const list = document.createElement('ul');
  list.setAttribute('role', 'listbox');
  list.hidden = true;
  const wrapField = field('Place', input, `people[${pi}].locations[${i}].name`, 'combo-field');
  const combo = document.createElement('div');
  combo.className = 'combo';
  input.replaceWith(combo);
  combo.append(input, list);
  list.id = `${input.id}-list`;
  input.setAttribute('aria-controls', list.id);
  list.setAttribute('aria-label', 'Places found');
  const note = document.createElement('p');
  note.className = 'place-note';
  note.id = `${input.id}-note`;
  note.setAttribute('aria-live', 'polite');
  wrapField.append(note);
  input.setAttribute('aria-describedby', note.id);

  const self = { field: wrapField, lat: null, lon: null };
  let options = [];
  let active = -1;
  let timer = null;
  let controller = null;
  let searching = null; // the search under way (a promise)

  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };
  const setActive = (k) => {
    active = k;
    [...list.children].forEach((o, j) => o.setAttribute('aria-selected', String(j === k)));
    if (k >= 0) {
      input.setAttribute('aria-activedescendant', list.children[k].id);
      list.children[k].scrollIntoView({ block: 'nearest' });
    }
  };
  const choose = (opt) => {
    l.name = opt.name;
    l.countryCode = opt.countryCode || '';
    l.latitude = String(opt.latitude);
    l.longitude = String(opt.longitude);
    input.value = opt.name;
    self.lat.value = l.latitude;
    self.lon.value = l.longitude;
    close();
    schedulePreview(0);
  };
  const show = (opts, query) => {
    options = opts;
    list.dataset.query = query; // what these options answer
    list.replaceChildren(...opts.map((o, j) => {
      const li = document.createElement('li');
      li.setAttribute('role', 'option');
      li.id = `${list.id}-${j}`;
      const main = document.createElement('span');
      const country = o.countryName || o.country || o.countryCode; // a full name when the server gives one
      main.textContent = [o.name, o.region !== o.name && o.region, country].filter(Boolean).join(', ');
      const side = document.createElement('small');
      side.textContent = o.population ? `${o.population.toLocaleString('en')} people`
        : `${o.latitude}, ${o.longitude}`;
      li.append(main, side);
      li.addEventListener('mousedown', (e) => e.preventDefault()); // keep focus in the input
      li.addEventListener('click', () => choose(o));
      return li;
    }));
    list.hidden = opts.length === 0;
    input.setAttribute('aria-expanded', String(opts.length > 0));
    setActive(opts.length ? 0 : -1);
  };
  const search = async () => {
    clearTimeout(timer);
    timer = null;
    const q = input.value.trim();
    const coords = /^(-?\d+(?:\.\d+)?)\s*[,;\s]\s*(-?\d+(?:\.\d+)?)$/.exec(q);
    if (coords) {
      show([{ name: `${coords[1]}, ${coords[2]}`, countryCode: '',
        latitude: Number(coords[1]), longitude: Number(coords[2]), population: 0 }], q);
      return;
    }
    if (!q) { close(); return; }
    controller?.abort();
    controller = new AbortController();
    try {
      const res = await fetch(`/api/places?limit=8&q=${encodeURIComponent(q)}`, { signal: controller.signal });
      if (!res.ok) { close(); return; }
      show(await res.json(), q);
    } catch (e) {
      if (e.name !== 'AbortError') close();
    }
  };
  // An edited name no longer names the place that was picked: its position and country go until a
  // place is picked again (or coordinates typed), and the row says so (flagUnplaced).
  input.addEventListener('input', () => {
    l.name = input.value;
    l.countryCode = '';
    l.latitude = '';
    l.longitude = '';
    self.lat.value = '';
    self.lon.value = '';
    clearTimeout(timer);
    searching = null;
    timer = setTimeout(() => { searching = search(); }, 120);
    schedulePreview();
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      if (list.hidden) search(); else setActive(Math.min(active + 1, options.length - 1));
    } else if (e.key === 'ArrowUp' && !list.hidden) {
      e.preventDefault();
      setActive(Math.max(active - 1, 0));
    } else if (e.key === 'Enter') {
      e.preventDefault(); // never submits the form
      const q = input.value.trim();
      if (!list.hidden && active >= 0 && list.dataset.query === q) { choose(options[active]); return; }
      // Enter before the options for what is typed have come: wait for them, then take the first.
      if (!q) return;
      (timer || !searching ? search() : searching).then(() => {
        if (input.value.trim() === q && list.dataset.query === q && options.length) choose(options[Math.max(active, 0)]);
      });
    } else if (e.key === 'Escape' && !list.hidden) {
      e.preventDefault();
      close();
    }
  });
  input.addEventListener('blur', () => setTimeout(close, 150));
  return self;
}

// Buttons say whose they are ("Move Ana up", "Remove Tokyo"): names change as people type.
function relabel() {
  document.querySelectorAll('#people > .person').forEach((li, pi) => {
    const p = state.people[pi];
    if (!p) return;
    const who = p.name.trim() || `person ${pi + 1}`;
    li.querySelectorAll(':scope > .person-head [data-label], :scope > .add-place')
      .forEach((b) => b.setAttribute('aria-label', b.dataset.label.replace('%s', who)));
    li.querySelector('.places').setAttribute('aria-label', `Places of ${who}`);
    li.querySelectorAll('.place').forEach((row, i) => {
      const l = p.locations[i];
      const what = l?.name.trim() || `place ${i + 1}`;
      row.querySelectorAll('[data-label]').forEach((b) => b.setAttribute('aria-label', b.dataset.label.replace('%s', what)));
      // A name with no position is not drawn: say so at once, by the name.
      const unplaced = Boolean(l && l.name.trim() && isBlankPlace(l));
      row.classList.toggle('unplaced', unplaced);
      const note = row.querySelector('.place-note');
      const text = unplaced ? `Not on the map yet: pick “${l.name.trim()}” from the list, or type its latitude and longitude.` : '';
      if (note && note.textContent !== text) note.textContent = text;
    });
  });
}

// The structure changed: rebuild, refocus, preview (and a step of its own in the undo history).
function changed(focusSel) {
  edits.forceBreak = true;
  renderPeople(focusSel);
  schedulePreview(0);
}

// ---- undo / redo ------------------------------------------------------------------------
// Every edit passes schedulePreview, which records the state: typing in one field within
// HISTORY_MERGE_MS of the last keystroke is one step; a structural change (add, remove, reorder)
// is always a step of its own. Undo and redo put the whole state back and rebuild the form.

const HISTORY_MERGE_MS = 1000;
const HISTORY_MAX = 200;
const edits = { undo: [], redo: [], current: null, at: -Infinity, field: null, forceBreak: false, restoring: false };

function resetHistory() {
  edits.undo = [];
  edits.redo = [];
  edits.current = JSON.stringify(state);
  edits.at = -Infinity;
  updateUndoButtons();
}

function recordHistory() {
  if (edits.current === null || edits.restoring) return;
  const now = JSON.stringify(state);
  if (now === edits.current) return;
  const t = performance.now();
  const fieldPath = document.activeElement?.dataset?.path || document.activeElement?.id || null;
  if (edits.forceBreak || t - edits.at > HISTORY_MERGE_MS || fieldPath !== edits.field) {
    edits.undo.push(edits.current);
    if (edits.undo.length > HISTORY_MAX) edits.undo.shift();
  }
  edits.redo = [];
  edits.current = now;
  edits.at = edits.forceBreak ? -Infinity : t;
  edits.field = fieldPath;
  edits.forceBreak = false;
  updateUndoButtons();
}

function restoreHistory(from, to, verb) {
  recordHistory(); // an edit still inside its merge window is a step too
  if (!from.length || doc.readOnly) return;
  to.push(edits.current);
  edits.current = from.pop();
  const focused = document.activeElement;
  const focusSel = focused?.id && !focused.closest('#people') ? `#${CSS.escape(focused.id)}`
    : focused?.dataset?.path ? `[data-path="${CSS.escape(focused.dataset.path)}"]` : null;
  edits.restoring = true;
  try {
    Object.assign(state, JSON.parse(edits.current));
    syncLookControls();
    renderPeople(focusSel);
    schedulePreview(0);
  } finally {
    edits.restoring = false;
  }
  edits.at = -Infinity;
  updateUndoButtons();
  setStatus($('#edit-status'), verb);
}
const undo = () => restoreHistory(edits.undo, edits.redo, 'Undone.');
const redo = () => restoreHistory(edits.redo, edits.undo, 'Redone.');

function updateUndoButtons() {
  $('#undo').disabled = doc.readOnly || edits.undo.length === 0;
  $('#redo').disabled = doc.readOnly || edits.redo.length === 0;
}

// Said after a removal: what went, and how to get it back.
function sayRemoved(what, places) {
  const extra = places ? ` and ${places === 1 ? 'their place' : `their ${places} places`}` : '';
  setStatus($('#edit-status'), `Removed ${what}${extra}. Undo (Ctrl+Z) brings ${places ? 'them' : 'it'} back.`);
}

// ---- page size, projection, theme, zoom, rotation ----------------------------------------

function sizeLabel(s) {
  const inch = (v) => String(Number(v.toFixed(2)));
  const dims = `${inch(Math.min(s.widthInches, s.heightInches))} × ${inch(Math.max(s.widthInches, s.heightInches))} in`;
  const base = s.key.replace(/-landscape$/, '');
  return /^\d+x\d+$/.test(base) ? dims : `${base} (${dims})`;
}

// The 16 specs as 8 page sizes × 2 orientations: a spec's partner has width and height swapped.
function pageSizes() {
  return sizes.filter((s) => s.widthInches <= s.heightInches);
}
function specFor(portrait, landscape) {
  if (!landscape) return portrait;
  return sizes.find((s) => Math.abs(s.widthInches - portrait.heightInches) < 0.01
    && Math.abs(s.heightInches - portrait.widthInches) < 0.01) || portrait;
}
function portraitOf(spec) {
  return spec.widthInches <= spec.heightInches ? spec : specFor(spec, true);
}

// The size picker: one card per page size (GET /api/export's sizes, portrait), each with its sheet
// drawn to one scale — the longest side of the largest sheet SHEET_PX long — in the orientation
// chosen, and its real size in inches and centimetres.
const SHEET_PX = 64;
const CM_PER_INCH = 2.54;

function renderSizePicker(list) {
  $('#page-size').replaceChildren(...list.map((s) => {
    const label = document.createElement('label');
    label.className = 'size';
    const radio = document.createElement('input');
    radio.type = 'radio';
    radio.name = 'page-size';
    radio.value = s.key;
    const box = document.createElement('span');
    box.className = 'sheet-box';
    box.setAttribute('aria-hidden', 'true');
    const sheet = document.createElement('span');
    sheet.className = 'sheet';
    sheet.dataset.shortIn = Math.min(s.widthInches, s.heightInches);
    sheet.dataset.longIn = Math.max(s.widthInches, s.heightInches);
    box.append(sheet);
    const name = document.createElement('span');
    name.className = 'size-name';
    name.textContent = sizeLabel(s);
    const cm = document.createElement('small');
    const metric = (v) => String(Number((v * CM_PER_INCH).toFixed(1)));
    cm.textContent = `${metric(Math.min(s.widthInches, s.heightInches))} × ${metric(Math.max(s.widthInches, s.heightInches))} cm`;
    label.append(radio, box, name, cm);
    return label;
  }));
}

const chosenPageSize = () => document.querySelector('input[name=page-size]:checked')?.value;

function syncSizeControls() {
  const spec = currentSize();
  if (!spec) return;
  const key = portraitOf(spec).key;
  if (!document.querySelector(`input[name=page-size][value="${CSS.escape(key)}"]`)) {
    // a size this page does not list (yet): a card of its own
    const cards = [...document.querySelectorAll('#page-size .size')];
    renderSizePicker([portraitOf(spec)]);
    $('#page-size').prepend(...cards);
  }
  document.querySelector(`input[name=page-size][value="${CSS.escape(key)}"]`).checked = true;
  const landscape = spec.widthInches > spec.heightInches;
  document.querySelector(`input[name=orientation][value=${landscape ? 'landscape' : 'portrait'}]`).checked = true;
  const sheets = [...document.querySelectorAll('#page-size .sheet')];
  const longest = Math.max(...sheets.map((e) => Number(e.dataset.longIn)));
  for (const e of sheets) {
    const [w, h] = landscape ? [e.dataset.longIn, e.dataset.shortIn] : [e.dataset.shortIn, e.dataset.longIn];
    e.style.width = `${(SHEET_PX * w / longest).toFixed(1)}px`;
    e.style.height = `${(SHEET_PX * h / longest).toFixed(1)}px`;
  }
  layoutPreview();
}

function onSizeChange() {
  const portrait = sizes.find((s) => s.key === chosenPageSize()) || portraitOf(currentSize());
  const landscape = document.querySelector('input[name=orientation]:checked').value === 'landscape';
  state.sizeKey = specFor(portrait, landscape).key;
  syncSizeControls();
  schedulePreview(0);
}

const wrapLambda = (v) => ((((v + 180) % 360) + 360) % 360) - 180;
const round1 = (v) => Math.round(v * 10) / 10;

function syncLookControls() {
  $('#title').value = state.title;
  $('#subtitle').value = state.subtitle;
  $('#projection').value = state.projection;
  $('#theme').value = state.theme;
  $('#labels').value = state.labels;
  $('#legend').checked = state.legend;
  $('#qr').checked = state.qr;
  syncViewControls();
  syncSizeControls();
}
// Spin, tilt (the globe's only: flat maps turn about the axis) and zoom, as the state has them.
function syncViewControls() {
  $('#rot-lambda').value = state.rotation[0];
  $('#rot-phi').value = state.rotation[1];
  $('#tilt').hidden = state.projection !== 'orthographic';
  $('#zoom').value = state.zoom;
  $('#zoom-out').textContent = `${Number(state.zoom).toFixed(2)}×`;
}

// ---- fit to places -------------------------------------------------------------------------
// The view chosen from the family's places (MAPS-AND-PRINT §3 for the fields). The globe turns so
// that the places' spherical centroid faces the viewer (rotate [-λ, -φ, 0]: d3's convention), at
// zoom 1. A flat map is recentred on the middle meridian of the narrowest arc of longitude that
// holds every place, and zoomed (1..FIT_MAX_ZOOM) until the places, projected, fill FIT_MARGIN of
// the frame about its centre. There is no pan: a zoom is relative to the fitted sphere, so it holds
// on any sheet, where a pan in points would not. A new map follows its places (state.autoFit, kept
// in the draft but not in the saved map) until the view is turned or zoomed by hand, or the saved
// map is opened again; "Fit to places" fits again and follows again.

const DEFAULT_ROTATION = [-20, -30, 0];
const FIT_MARGIN = 0.8;
const FIT_MAX_ZOOM = 4; // the zoom slider's end
const RAD = Math.PI / 180;

// [longitude, latitude] of every place with a position.
function placedPoints() {
  const pts = [];
  for (const p of state.people) {
    for (const l of p.locations) {
      const lat = coordinate(l.latitude), lon = coordinate(l.longitude);
      if (typeof lat === 'number' && typeof lon === 'number' && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) pts.push([lon, lat]);
    }
  }
  return pts;
}

// The point facing the viewer: the mean of the places' unit vectors, back on the sphere (a
// family spread evenly round the world has none; its first place then).
function sphericalCentroid(pts) {
  let x = 0, y = 0, z = 0;
  for (const [lon, lat] of pts) {
    x += Math.cos(lat * RAD) * Math.cos(lon * RAD);
    y += Math.cos(lat * RAD) * Math.sin(lon * RAD);
    z += Math.sin(lat * RAD);
  }
  const n = Math.hypot(x, y, z);
  if (n < 1e-9 * pts.length) return pts[0];
  return [Math.atan2(y, x) / RAD, Math.asin(Math.max(-1, Math.min(1, z / n))) / RAD];
}

// The middle of the narrowest arc of longitude holding every place: opposite the widest gap.
function middleMeridian(pts) {
  const lons = pts.map(([lon]) => lon).sort((a, b) => a - b);
  let gap = lons[0] + 360 - lons.at(-1), after = 0; // the gap across the antimeridian ends at lons[0]
  for (let k = 1; k < lons.length; k++) {
    if (lons[k] - lons[k - 1] > gap) { gap = lons[k] - lons[k - 1]; after = k; }
  }
  const start = lons[after], span = 360 - gap;
  return wrapLambda(start + span / 2);
}

// A flat projection's raw formula (radians in, d3's unscaled units out) and its sphere's half
// extent. Robinson is fitted as Natural Earth, which it follows to within a few per cent.
function naturalEarth1(lambda, phi) {
  const phi2 = phi * phi, phi4 = phi2 * phi2;
  return [lambda * (0.8707 - 0.131979 * phi2 + phi4 * (-0.013791 + phi4 * (0.003971 * phi2 - 0.001529 * phi4))),
    phi * (1.007226 + phi2 * (0.015085 + phi4 * (-0.044475 + 0.028874 * phi2 - 0.005916 * phi4)))];
}
const MERCATOR_MAX_PHI = 85.0511 * RAD;
const FLAT = {
  equirectangular: { raw: (l, p) => [l, p], half: [Math.PI, Math.PI / 2] },
  mercator: { raw: (l, p) => [l, Math.log(Math.tan(Math.PI / 4 + Math.max(-MERCATOR_MAX_PHI, Math.min(MERCATOR_MAX_PHI, p)) / 2))],
    half: [Math.PI, Math.PI] },
  naturalEarth1: { raw: naturalEarth1, half: [naturalEarth1(Math.PI, 0)[0], naturalEarth1(0, Math.PI / 2)[1]] },
};
FLAT.robinson = FLAT.naturalEarth1;

// {rotation, zoom} for the places on this projection and sheet; null without places.
function fitView(pts, projection, spec) {
  if (!pts.length) return null;
  if (projection === 'orthographic' || !FLAT[projection]) {
    const [lon, lat] = sphericalCentroid(pts);
    return { rotation: [round1(wrapLambda(-lon)), round1(-lat), 0], zoom: 1 };
  }
  const centre = middleMeridian(pts);
  const { raw, half } = FLAT[projection];
  let mx = 0, my = 0; // the places' largest distances from the map's centre, raw units
  for (const [lon, lat] of pts) {
    const [x, y] = raw(wrapLambda(lon - centre) * RAD, lat * RAD);
    mx = Math.max(mx, Math.abs(x));
    my = Math.max(my, Math.abs(y));
  }
  const frameW = spec.widthInches * 72 - 2 * (page.safePt + page.frameInsetPt);
  const frameH = spec.heightInches * 72 - 2 * (page.safePt + page.frameInsetPt);
  const k = Math.min(frameW / (2 * half[0]), frameH / (2 * half[1])); // d3's fitSize scale
  const zx = mx > 0 ? (FIT_MARGIN * frameW / 2) / (k * mx) : Infinity;
  const zy = my > 0 ? (FIT_MARGIN * frameH / 2) / (k * my) : Infinity;
  const zoom = Math.max(1, Math.min(FIT_MAX_ZOOM, zx, zy));
  return { rotation: [round1(wrapLambda(-centre)), 0, 0], zoom: Math.floor(zoom * 20) / 20 }; // the slider's step
}

// Put the fitted view in the state (and the controls); false when there is nothing to fit to.
function applyFit() {
  const spec = currentSize();
  const view = spec && fitView(placedPoints(), state.projection, spec);
  if (!view) return false;
  state.rotation = view.rotation;
  state.zoom = view.zoom;
  state.pan = null;
  syncViewControls();
  return true;
}

// The view turned or zoomed by hand: from now on it stays as the family set it.
function viewSetByHand() {
  if (!state.autoFit) return;
  state.autoFit = false;
  setStatus($('#view-status'), '');
}

function fitToPlaces() {
  if (!applyFit()) {
    setStatus($('#view-status'), 'Add a place first: the view is fitted to the places on the map.');
    return;
  }
  state.autoFit = true;
  setStatus($('#view-status'), 'Fitted to the places; the view follows them until you turn it.');
  edits.forceBreak = true;
  schedulePreview(0);
}

function resetView() {
  state.rotation = [...DEFAULT_ROTATION];
  state.zoom = 1;
  state.pan = null;
  state.autoFit = false;
  syncViewControls();
  setStatus($('#view-status'), 'The view is back to where a new map starts.');
  edits.forceBreak = true;
  schedulePreview(0);
}

// ---- preview ------------------------------------------------------------------------------

const preview = { timer: null, controller: null, lastStart: 0, url: null, renders: 0, retryMs: 0 };

// "people[0].locations[1]..." of a preview request → the same path for the row it came from.
function fromPreviewPath(line, index) {
  return line.replace(/^people\[(\d+)\]\.locations\[(\d+)\]/,
    (all, pi, i) => (index[pi]?.[i] === undefined ? all : `people[${pi}].locations[${index[pi][i]}]`));
}

function totalPt(spec) {
  return { w: spec.widthInches * 72 + 2 * page.bleedPt, h: spec.heightInches * 72 + 2 * page.bleedPt };
}

// The path colour the poster gives the person at index pi who has none of their own.
function themeColour(pi) {
  const paths = themes.find((t) => t.id === state.theme)?.colors.paths || ['#000000'];
  return paths[pi % paths.length];
}

// The figure takes the sheet's aspect; the outlines sit where trim and safe area fall.
function layoutPreview() {
  const spec = currentSize();
  if (!spec) return;
  const t = totalPt(spec);
  const fig = $('#preview');
  fig.style.aspectRatio = `${t.w} / ${t.h}`;
  const pct = (v, of) => `${(100 * v / of).toFixed(3)}%`;
  const place = (el, inset) => Object.assign(el.style, {
    left: pct(inset, t.w), right: pct(inset, t.w), top: pct(inset, t.h), bottom: pct(inset, t.h),
  });
  place($('#trim'), page.bleedPt);
  place($('#safe'), page.bleedPt + page.safePt);
}

// Screen resolution: as many pixels as the figure shows (device pixels), never above 300 DPI.
function previewDpi() {
  const spec = currentSize();
  const widthPx = ($('#preview').clientWidth || 400) * (window.devicePixelRatio || 1);
  const dpi = Math.round(widthPx / (totalPt(spec).w / 72));
  return Math.max(10, Math.min(300, dpi));
}

// Every edit comes through here: it redraws the preview and (noteEdit) is saved.
function schedulePreview(delay = PREVIEW_DEBOUNCE_MS) {
  if (state.autoFit && !doc.readOnly) applyFit();
  recordHistory();
  relabel();
  markStaleExport();
  noteEdit();
  clearTimeout(preview.timer);
  $('#preview').dataset.pending = 'true'; // a render is due (tests wait for it)
  preview.timer = setTimeout(renderPreview, delay);
}

// While dragging: at most one request per DRAG_THROTTLE_MS, the latest state always last.
function throttledPreview() {
  const wait = preview.lastStart + DRAG_THROTTLE_MS - performance.now();
  if (wait <= 0) { clearTimeout(preview.timer); renderPreview(); } else schedulePreview(wait);
}

async function renderPreview() {
  const spec = currentSize();
  preview.skipped = !spec; // a size known only to GET /api/export: drawn once it answers
  if (!spec) return;
  preview.controller?.abort(); // only the latest request matters
  const controller = new AbortController();
  preview.controller = controller;
  preview.lastStart = performance.now();
  const fig = $('#preview');
  delete fig.dataset.pending;
  const index = [];
  const url = `/render?format=png&size=${encodeURIComponent(spec.key)}&dpi=${previewDpi()}`
    + `&data=${base64url(JSON.stringify(definition(true, index)))}`;
  fig.dataset.state = 'loading';
  $('#preview-busy').hidden = false;
  try {
    const res = await fetch(url, { signal: controller.signal });
    if (!res.ok) {
      let body = null;
      try { body = await res.json(); } catch { /* not JSON */ }
      if (controller !== preview.controller) return;
      if (res.status === 503 || res.status === 429) {
        // Every render slot taken (a drag's earlier requests may still be drawing): the latest
        // state is asked for again shortly, waiting longer each time, at most the server's Retry-After.
        const most = 1000 * (Number(res.headers.get('Retry-After')) || 5);
        preview.retryMs = Math.min(most, preview.retryMs ? preview.retryMs * 2 : PREVIEW_RETRY_MS);
        $('#preview-status').textContent = 'The server is busy: the preview comes in a moment…';
        fig.dataset.pending = 'true';
        preview.timer = setTimeout(renderPreview, preview.retryMs);
        return;
      }
      const details = (body?.details || []).map((d) => fromPreviewPath(d, index));
      lastErrors = { details, message: body?.error || `preview failed (${res.status})` };
      showErrors(lastErrors.details, lastErrors.message);
      fig.dataset.state = 'error';
      $('#preview-status').textContent = res.status === 400
        ? 'The preview shows the last valid map: fix the fields marked in red.'
        : `Preview unavailable: ${body?.error || res.status}`;
      return;
    }
    const blob = await res.blob();
    if (controller !== preview.controller) return;
    preview.retryMs = 0;
    lastErrors = { details: [], message: '' };
    showErrors([], '');
    if (preview.url) URL.revokeObjectURL(preview.url);
    preview.url = URL.createObjectURL(blob);
    await new Promise((resolve) => {
      const img = $('#preview-img');
      img.onload = img.onerror = resolve;
      img.src = preview.url;
    });
    if (controller !== preview.controller) return;
    preview.renders += 1;
    fig.dataset.renders = String(preview.renders);
    fig.dataset.state = 'ready';
    $('#preview-status').textContent = `${sizeLabel(spec)}, ${spec.widthInches > spec.heightInches ? 'landscape' : 'portrait'}`
      + ` — printed at ${spec.pixelWidth} × ${spec.pixelHeight} px`;
  } catch (e) {
    if (e.name === 'AbortError') return;
    fig.dataset.state = 'error';
    $('#preview-status').textContent = `Preview unavailable: ${e.message}`;
  } finally {
    if (controller === preview.controller) $('#preview-busy').hidden = true;
  }
}

// Drag to turn: horizontal → λ, vertical → φ (the globe only; flat maps turn about the axis).
// Degrees per pixel follow the drawn size, so a point under the pointer roughly follows it.
function degreesPerPixel() {
  const spec = currentSize();
  const t = totalPt(spec);
  const pxPerPt = $('#preview').clientWidth / t.w;
  const frameW = spec.widthInches * 72 - 2 * (page.safePt + page.frameInsetPt);
  const frameH = spec.heightInches * 72 - 2 * (page.safePt + page.frameInsetPt);
  if (state.projection === 'orthographic') {
    const radiusPx = (Math.min(frameW, frameH) / 2) * state.zoom * pxPerPt;
    return (180 / Math.PI) / Math.max(radiusPx, 1);
  }
  return 360 / Math.max(frameW * state.zoom * pxPerPt, 1);
}

function rotateBy(dLambda, dPhi) {
  const [l, p, g] = state.rotation.map((v) => (typeof v === 'number' ? v : Number(v) || 0));
  state.rotation = [round1(wrapLambda(l + dLambda)),
    state.projection === 'orthographic' ? round1(Math.max(-90, Math.min(90, p + dPhi))) : p, g];
  viewSetByHand();
  syncViewControls();
}

function setupDrag() {
  const fig = $('#preview');
  let drag = null;
  fig.addEventListener('pointerdown', (e) => {
    if (e.button !== 0 || doc.readOnly) return;
    fig.setPointerCapture(e.pointerId);
    drag = { x: e.clientX, y: e.clientY, k: degreesPerPixel() };
    fig.classList.add('dragging');
  });
  fig.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
    drag.x = e.clientX;
    drag.y = e.clientY;
    rotateBy(dx * drag.k, -dy * drag.k);
    throttledPreview();
  });
  const end = () => {
    if (!drag) return;
    drag = null;
    fig.classList.remove('dragging');
    schedulePreview(0);
  };
  fig.addEventListener('pointerup', end);
  fig.addEventListener('pointercancel', end);
  fig.addEventListener('keydown', (e) => {
    const step = e.shiftKey ? 15 : 5;
    const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] }[e.key];
    if (!d || doc.readOnly) return;
    e.preventDefault();
    rotateBy(d[0], d[1]);
    schedulePreview();
  });
}

// Phones: the preview holds the top third of the screen; hidden, it gives that room to the form.
function togglePreview() {
  const btn = $('#preview-toggle');
  const show = btn.getAttribute('aria-expanded') !== 'true';
  $('#preview').hidden = !show;
  document.documentElement.classList.toggle('preview-hidden', !show);
  btn.setAttribute('aria-expanded', String(show));
  btn.textContent = show ? 'Hide preview' : 'Show preview';
  if (show) schedulePreview(0); // drawn at the size it now has
}

function setStatus(el, text, isError = false) {
  el.textContent = text;
  el.classList.toggle('error', isError);
}

// ---- the open map: created once, then saved in place ------------------------------------------
// The URL names the open map (/?map=<id>); the edit token that lets this browser change it rides
// only in the fragment (#edit=<token>), which browsers never send to a server, so it stays out of
// server and proxy logs. Without a token the map is shown read-only. Edits are saved a moment
// after the last keystroke (PUT); until the server has them they are kept in localStorage as a
// draft, so a reload, a crash or a server that is down loses nothing.

const AUTOSAVE_MS = 800;
const SAVE_TIMEOUT_MS = 15_000;  // a save that hangs ends as "Not saved", never as "Saving…" forever
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 15_000;
const MY_MAPS_KEY = 'awm.myMaps';

const doc = {
  id: null,         // the open map's id; null until its first save creates it
  token: null,      // its edit token; null for a map opened by its view link
  readOnly: false,
  savedJson: null,  // the definition the server holds (for a map not created yet: the page's first one)
  timer: null,      // the debounced autosave
  retryTimer: null, // the next attempt after the server could not be reached
  retryMs: 0,
  inFlight: null,   // the save under way, so that two never overlap
  leaving: false,   // the open map was deleted: nothing left to ask about on leaving
  ready: false,     // the map is loaded: edits from now on are the user's
};

// ---- localStorage: "My maps" and drafts ---------------------------------------------------------

const draftKey = (id) => `awm.draft.${id || 'new'}`;
function readStored(key, fallback) {
  try { return JSON.parse(localStorage.getItem(key)) ?? fallback; } catch { return fallback; }
}
function store(key, value) {
  try { localStorage.setItem(key, JSON.stringify(value)); } catch { /* full or disabled: the page works without */ }
}
function unstore(key) {
  try { localStorage.removeItem(key); } catch { /* idem */ }
}

// [{id, token, title}], most recently saved first.
const myMaps = () => readStored(MY_MAPS_KEY, []).filter((m) => m && typeof m.id === 'string' && typeof m.token === 'string');
function rememberMap(id, token, title) {
  store(MY_MAPS_KEY, [{ id, token, title }, ...myMaps().filter((m) => m.id !== id)]);
  renderMyMaps();
}
function forgetMap(id) {
  store(MY_MAPS_KEY, myMaps().filter((m) => m.id !== id));
  unstore(draftKey(id));
  renderMyMaps();
}

// What a save sends: places without a position yet are left out, as for the preview (a row
// just added is not an error, and comes back from the draft).
const saveJson = () => JSON.stringify(definition(true));
const isDirty = () => !doc.readOnly && !doc.leaving && (doc.inFlight !== null || saveJson() !== doc.savedJson);
const viewLink = () => `${location.origin}/?map=${doc.id}`;
const editLink = () => `${viewLink()}#edit=${doc.token}`;

function showSave(kind, text) {
  const el = $('#save-status');
  el.dataset.state = kind; // new | saving | saved | error | readonly (tests wait on it)
  setStatus(el, text, kind === 'error');
}

// Called on every change (schedulePreview): keep the draft, and save a moment later.
function noteEdit() {
  if (!doc.ready || doc.readOnly) return;
  clearTimeout(doc.timer);
  if (saveJson() === doc.savedJson) { // back to what the server holds
    unstore(draftKey(doc.id));
    clearTimeout(doc.retryTimer);
    doc.retryTimer = null;
    if (!doc.inFlight) showClean();
    return;
  }
  store(draftKey(doc.id), { state });
  doc.timer = setTimeout(saveNow, AUTOSAVE_MS);
  if (!doc.retryTimer) showSave('saving', 'Saving…');
}

function showClean() {
  if (doc.id) showSave('saved', 'Saved');
  else showSave('new', 'New map: it is saved as soon as you change it.');
}

// Save now if the server does not hold the current definition; true when it does afterwards.
// create: make the map even when unchanged (an export needs an id).
async function saveNow({ create = false } = {}) {
  clearTimeout(doc.timer);
  while (doc.inFlight) await doc.inFlight; // one save at a time; then see whether another is due
  if (doc.readOnly) return doc.id !== null;
  const index = [];
  const def = definition(true, index);
  const json = JSON.stringify(def);
  if (json === doc.savedJson && (doc.id || !create)) return doc.id !== null;
  clearTimeout(doc.retryTimer);
  doc.retryTimer = null;
  doc.inFlight = sendSave(def, json, index, create);
  try { return await doc.inFlight; } finally { doc.inFlight = null; }
}

async function sendSave(def, json, index, create) {
  const creating = !doc.id;
  if (!doc.retryMs) showSave('saving', 'Saving…');
  let res;
  try {
    res = await api(creating ? 'POST' : 'PUT', creating ? '/api/maps' : `/api/maps/${doc.id}`, def,
      { token: doc.token, timeoutMs: SAVE_TIMEOUT_MS });
  } catch (e) {
    return saveFailed(e.name === 'TimeoutError' ? 'the server does not answer' : 'cannot reach the server', create);
  }
  if (res.status === 200 || res.status === 201) {
    if (creating) adopt(res.json.userMap.id, res.json.editToken);
    doc.savedJson = json;
    doc.retryMs = 0;
    rememberMap(doc.id, doc.token, def.title);
    if (saveJson() === json) {
      unstore(draftKey(doc.id));
      showSave('saved', 'Saved');
    } else {
      doc.timer = setTimeout(saveNow, AUTOSAVE_MS); // edited while this save was on its way
    }
    return true;
  }
  const why = res.json?.error || `the server answered ${res.status}`;
  if (res.status === 400) {
    lastErrors = { details: (res.json?.details || []).map((d) => fromPreviewPath(d, index)), message: why };
    showErrors(lastErrors.details, lastErrors.message);
    return saveFailed(`${why}. See the marked fields.`);
  }
  if (res.status === 401 || res.status === 403) return saveFailed(`this link cannot change the map (${why})`);
  if (res.status === 404) return saveFailed('this map no longer exists (it was deleted)');
  if (res.status === 413) return saveFailed(why);
  return saveFailed(why, create, true); // 5xx, 429: the server may well answer in a moment
}

// A failed save says why; when the server may come back, it is tried again, waiting longer each time.
function saveFailed(why, create = false, retry = false) {
  if (why === 'cannot reach the server' || why === 'the server does not answer') retry = true;
  if (!retry) {
    doc.retryMs = 0;
    showSave('error', `Not saved: ${why}`);
    return false;
  }
  doc.retryMs = Math.min(RETRY_MAX_MS, doc.retryMs ? doc.retryMs * 2 : RETRY_MIN_MS);
  doc.retryTimer = setTimeout(() => { doc.retryTimer = null; saveNow({ create }); }, doc.retryMs);
  showSave('error', `Not saved: ${why}. Trying again in ${Math.round(doc.retryMs / 1000)} s…`);
  return false;
}

// The first save made the map: from now on the URL names it and carries its edit token.
function adopt(id, token) {
  doc.id = id;
  doc.token = token;
  unstore(draftKey(null));
  history.replaceState(null, '', `/?map=${id}#edit=${token}`);
  updateMapBar();
}

// Open the map the URL names, or a new map (with its draft, if this browser has one).
async function openFromUrl() {
  const id = new URLSearchParams(location.search).get('map');
  const token = new URLSearchParams(location.hash.slice(1)).get('edit');
  if (!id) {
    doc.savedJson = saveJson();
    restoreDraft(null);
    return;
  }
  let res;
  try { res = await api('GET', `/api/maps/${encodeURIComponent(id)}`); } catch { res = { status: 0 }; }
  if (res.status !== 200) {
    const why = res.status === 404 ? 'no map has this link (it may have been deleted)'
      : `the map cannot be loaded (${res.json?.error || res.status || 'no answer'})`;
    if (res.status === 404) forgetMap(id);
    history.replaceState(null, '', '/');
    doc.savedJson = saveJson();
    showErrors([], `Cannot open the map: ${why}. This is a new map.`);
    return;
  }
  loadDefinition(res.json.userMap.data);
  doc.id = id;
  doc.savedJson = saveJson();
  if (token) {
    doc.token = token;
    rememberMap(id, token, state.title);
    restoreDraft(id);
  } else {
    doc.readOnly = true;
  }
}

// Edits this browser made and the server never got come back (they are saved right after).
function restoreDraft(id) {
  const draft = readStored(draftKey(id), null);
  if (!draft?.state || !Array.isArray(draft.state.people)) return;
  loadDefinition(draft.state);
  if (typeof draft.state.sizeKey === 'string') state.sizeKey = draft.state.sizeKey;
}

// The form's values from a map definition (or a draft, which has the same fields).
function loadDefinition(d = {}) {
  state.title = d.title || '';
  state.subtitle = d.subtitle || '';
  state.projection = d.projection || 'orthographic';
  state.theme = d.theme || 'antique-parchment';
  state.rotation = Array.isArray(d.rotation) ? [...d.rotation] : [...DEFAULT_ROTATION];
  state.zoom = typeof d.zoom === 'number' ? d.zoom : 1;
  state.pan = d.pan || null;
  state.qrUrl = d.qrUrl || null;
  state.qr = !('qrUrl' in d) || (d.qrUrl !== null && d.qrUrl !== '');
  state.legend = d.legend !== false;
  state.labels = d.labels || 'none';
  state.autoFit = d.autoFit === true; // a draft's; a saved map keeps the view it was saved with
  state.people = (Array.isArray(d.people) ? d.people : []).map((p) => ({
    id: p.id || newPersonId(),
    name: p.name || '',
    color: p.color || '',
    locations: (Array.isArray(p.locations) ? p.locations : []).map((l) => ({
      name: l.name || '', countryCode: l.countryCode || '', date: l.date || '',
      latitude: l.latitude === undefined ? '' : String(l.latitude),
      longitude: l.longitude === undefined ? '' : String(l.longitude),
    })),
  }));
}

// A view link shows the map with every control that would change it disabled; page size,
// format and export stay (they make a poster, not a change), as does My maps.
function applyReadOnly() {
  if (!doc.readOnly) return;
  document.querySelectorAll('#map-form input, #map-form select, #map-form button').forEach((el) => {
    if (!el.closest('.view-ok')) el.disabled = true;
  });
}

function updateMapBar() {
  $('#readonly-note').hidden = !doc.readOnly;
  $('#make-copy').hidden = !doc.readOnly;
  $('#edit-here').hidden = !(doc.readOnly && myMaps().some((m) => m.id === doc.id));
  $('#save').hidden = doc.readOnly;
  $('#copy-edit').hidden = doc.readOnly;
  $('#copy-edit').disabled = !doc.token;
  $('#copy-view').disabled = !doc.id;
  if (doc.readOnly) showSave('readonly', 'Read-only: this is the map\'s view link.');
}

async function copyLink(kind) {
  const url = kind === 'edit' ? editLink() : viewLink();
  const box = $('#share');
  const input = $('#share-link');
  input.value = url;
  box.hidden = false;
  const say = kind === 'edit' ? 'Edit link copied: whoever has it can change and delete this map.'
    : 'View link copied: whoever has it can see this map and print it, not change it.';
  try {
    await navigator.clipboard.writeText(url);
    setStatus($('#share-status'), say);
  } catch {
    input.select(); // the browser refused the clipboard: the link is there to copy by hand
    setStatus($('#share-status'), 'Copy the link above (this browser did not allow copying).');
  }
}

// A copy of a map seen by its view link becomes a new map of this browser's, opened for editing.
async function makeCopy() {
  const btn = $('#make-copy');
  btn.disabled = true;
  try {
    let res;
    try { res = await api('POST', '/api/maps', definition(true), { timeoutMs: SAVE_TIMEOUT_MS }); } catch { res = { status: 0 }; }
    if (res.status !== 201) {
      showSave('error', `Not copied: ${res.json?.error || 'cannot reach the server'}`);
      return;
    }
    const { id } = res.json.userMap;
    rememberMap(id, res.json.editToken, state.title);
    location.assign(`/?map=${id}#edit=${res.json.editToken}`);
  } finally {
    btn.disabled = false;
  }
}

// ---- My maps ----------------------------------------------------------------------------------

function renderMyMaps() {
  const maps = myMaps();
  $('#my-maps-empty').hidden = maps.length > 0;
  $('#my-maps').replaceChildren(...maps.map(myMapItem));
}

function myMapItem(m) {
  const li = document.createElement('li');
  li.dataset.mapId = m.id;
  const title = m.title || '(untitled)';
  const open = document.createElement('a');
  open.href = `/?map=${m.id}#edit=${m.token}`;
  open.textContent = title;
  if (m.id === doc.id) open.setAttribute('aria-current', 'page');
  const tools = document.createElement('div');
  tools.className = 'tools';
  tools.append(button('Rename', `Rename ${title}`, () => startRename(li, m), 'secondary small'),
    button('Delete', `Delete ${title}`, () => deleteMap(m), 'secondary small danger'));
  li.append(open, tools);
  return li;
}

// Rename in place: the row becomes a labelled field; Enter or "Save name" renames, Escape cancels.
function startRename(li, m) {
  const input = document.createElement('input');
  input.value = m.title || '';
  input.maxLength = 200;
  input.autocomplete = 'off';
  const wrap = field(`New name for ${m.title || 'this map'}`, input, null, 'rename');
  const ok = button('Save name', null, () => renameMap(m, input.value), 'small');
  const cancel = button('Cancel', null, renderMyMaps, 'secondary small');
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { e.preventDefault(); renameMap(m, input.value); }
    if (e.key === 'Escape') { e.preventDefault(); renderMyMaps(); }
  });
  li.replaceChildren(wrap, ok, cancel);
  input.focus();
}

async function renameMap(m, title) {
  const status = $('#my-maps-status');
  if (m.id === doc.id && !doc.readOnly) { // the open map: as if typed in its title field
    state.title = title;
    $('#title').value = title;
    schedulePreview(0);
    const done = await saveNow();
    setStatus(status, done ? `Renamed to “${title}”.` : `Not renamed: ${$('#save-status').textContent}`, !done);
    renderMyMaps();
    return;
  }
  // Another map: its definition as the server holds it, with the new title.
  let res;
  try {
    const got = await api('GET', `/api/maps/${m.id}`);
    res = got.status !== 200 ? got
      : await api('PUT', `/api/maps/${m.id}`, { ...got.json.userMap.data, title }, { token: m.token, timeoutMs: SAVE_TIMEOUT_MS });
  } catch { res = { status: 0 }; }
  if (res.status === 200) {
    rememberMap(m.id, m.token, title);
    setStatus(status, `Renamed to “${title}”.`);
  } else {
    setStatus(status, `Not renamed: ${res.json?.error || 'cannot reach the server'}`, true);
    renderMyMaps();
  }
}

async function deleteMap(m) {
  const title = m.title || '(untitled)';
  if (!window.confirm(`Delete “${title}”? The map, its posters and its links stop working for everyone. This cannot be undone.`)) return;
  const status = $('#my-maps-status');
  let res;
  try { res = await api('DELETE', `/api/maps/${m.id}`, null, { token: m.token, timeoutMs: SAVE_TIMEOUT_MS }); } catch { res = { status: 0 }; }
  if (res.status !== 204 && res.status !== 404) { // 404: already gone, which is what was asked
    setStatus(status, `Not deleted: ${res.json?.error || 'cannot reach the server'}`, true);
    return;
  }
  forgetMap(m.id);
  setStatus(status, `Deleted “${title}”.`);
  if (m.id === doc.id) { // the open map is gone: start a new one
    doc.leaving = true;
    location.assign('/');
  }
}

// ---- export -----------------------------------------------------------------------------------

async function exportPoster() {
  const btn = $('#export');
  btn.disabled = true;
  try {
    if (!await saveNow({ create: true })) {
      setStatus($('#export-status'), 'Export waits for the map to be saved (see above).', true);
      return;
    }
    const spec = currentSize();
    const format = $('#format').value;
    const res = await api('POST', '/api/export', {
      userMapId: doc.id, widthInches: spec.widthInches, heightInches: spec.heightInches,
      paperSizeName: spec.key, format,
    });
    if (res.status !== 202) {
      showErrors(res.json?.details || [], res.json?.error || `export failed (${res.status})`);
      setStatus($('#export-status'), `Export refused: ${res.json?.error || res.status}`, true);
      return;
    }
    setStatus($('#export-status'), '');
    followJob(res.json.printJobId, spec, format);
  } finally {
    btn.disabled = false;
  }
}

const STEP_ORDER = ['pending_export', 'exporting', 'export_complete'];
const STATE_TEXT = {
  pending_export: 'Queued: waiting for a worker…',
  exporting: 'Rendering the poster…',
  export_complete: 'Ready.',
  export_failed: 'Failed',
};
let jobTimer = null;

// What an export was made of: the map as saved, its size and format. The result shown is marked
// stale as soon as any of them changes.
const exportKey = (sizeKey, format) => JSON.stringify([saveJson(), sizeKey, format]);

function markStaleExport() {
  const box = $('#job');
  if (box.hidden || !box.dataset.for) return;
  const stale = box.dataset.for !== exportKey(state.sizeKey, $('#format').value);
  if ((box.dataset.stale === 'true') === stale) return;
  box.dataset.stale = String(stale);
  $('#job-stale').hidden = !stale;
}

function followJob(jobId, spec, format) {
  clearTimeout(jobTimer);
  const box = $('#job');
  box.hidden = false;
  box.dataset.jobId = jobId;
  box.dataset.for = exportKey(spec.key, format);
  box.dataset.stale = 'false';
  $('#job-stale').hidden = true;
  box.dataset.state = 'pending_export';
  const link = $('#download');
  link.hidden = true;
  showJobState('pending_export', null);
  const poll = async () => {
    let res;
    try { res = await api('GET', `/api/jobs/${jobId}`); } catch { res = { ok: false }; }
    if (box.dataset.jobId !== jobId) return; // a newer export took over
    if (!res.ok) {
      setStatus($('#job-status'), 'Cannot reach the server; trying again…', true);
      jobTimer = setTimeout(poll, JOB_POLL_MS * 2);
      return;
    }
    const job = res.json.job || res.json;
    box.dataset.state = job.state;
    showJobState(job.state, job);
    if (job.state === 'export_complete' && job.downloadUrl) {
      link.href = job.downloadUrl;
      link.textContent = `Download poster (${format.toUpperCase()}, ${spec.key})`;
      link.hidden = false;
      return;
    }
    jobTimer = setTimeout(poll, JOB_POLL_MS); // a failed job may be retried by the worker
  };
  poll();
}

function showJobState(jobState, job) {
  const at = STEP_ORDER.indexOf(jobState);
  document.querySelectorAll('#job .steps li').forEach((li) => {
    const k = STEP_ORDER.indexOf(li.dataset.step);
    li.className = jobState === 'export_failed' && k === 1 ? 'failed'
      : k < at || jobState === 'export_complete' ? 'done' : k === at ? 'current' : '';
  });
  let text = STATE_TEXT[jobState] || jobState;
  if (jobState === 'export_failed') {
    text = `Failed: ${job?.export_error || 'unknown error'} (attempt ${job?.export_retry_count ?? '?'}; the worker retries while it can)`;
  }
  setStatus($('#job-status'), text, jobState === 'export_failed');
}

// ---- start --------------------------------------------------------------------------------

function addPerson() {
  const pi = state.people.length;
  state.people.push({ id: newPersonId(), name: '', color: '', locations: [] });
  changed(`[data-person="${pi}"]`);
}

const PROJECTION_NAMES = { orthographic: 'Globe (orthographic)', equirectangular: 'Equirectangular', mercator: 'Mercator',
  naturalEarth1: 'Natural Earth', robinson: 'Robinson' };

// What GET /api/export says: sizes, page geometry, projections and themes for the controls.
function applyExportInfo(info) {
  sizes = info.sizes;
  page = info.page;
  themes = info.themes;
  $('#projection').replaceChildren(...info.projections.map((p) => new Option(PROJECTION_NAMES[p] || p, p)));
  $('#theme').replaceChildren(...info.themes.map((t) => new Option(t.displayName, t.id)));
  renderSizePicker(pageSizes());
  $('#projection').value = state.projection;
  $('#theme').value = state.theme;
  syncSizeControls();
  // swatches of people without a colour of their own now show the theme's
  document.querySelectorAll('#people > .person').forEach((li, pi) => {
    const c = li.querySelector('input[type=color]');
    if (c && c.dataset.themeColour === 'true') c.value = themeColour(pi);
  });
}

async function start() {
  // Asked at once, and not waited for: the first preview needs only the map and its size.
  const exportInfo = api('GET', '/api/export').catch(() => ({ ok: false, status: 0 }));
  // Until it answers, the selects hold the map's own values.
  $('#projection').replaceChildren(new Option(PROJECTION_NAMES[state.projection] || state.projection, state.projection));
  $('#theme').replaceChildren(new Option('Antique Parchment', 'antique-parchment'));
  renderSizePicker([currentSize()].filter(Boolean));

  $('#title').addEventListener('input', (e) => { state.title = e.target.value; schedulePreview(); });
  $('#subtitle').addEventListener('input', (e) => { state.subtitle = e.target.value; schedulePreview(); });
  $('#projection').addEventListener('change', (e) => { state.projection = e.target.value; syncViewControls(); schedulePreview(0); });
  $('#theme').addEventListener('change', (e) => { state.theme = e.target.value; renderPeople(); schedulePreview(0); });
  $('#labels').addEventListener('change', (e) => { state.labels = e.target.value; schedulePreview(0); });
  $('#legend').addEventListener('change', (e) => { state.legend = e.target.checked; schedulePreview(0); });
  $('#qr').addEventListener('change', (e) => { state.qr = e.target.checked; schedulePreview(0); });
  $('#page-size').addEventListener('change', onSizeChange);
  document.querySelectorAll('input[name=orientation]').forEach((r) => r.addEventListener('change', onSizeChange));
  $('#zoom').addEventListener('input', (e) => {
    state.zoom = Number(e.target.value);
    viewSetByHand();
    $('#zoom-out').textContent = `${state.zoom.toFixed(2)}×`;
    schedulePreview();
  });
  $('#rot-lambda').addEventListener('input', (e) => { state.rotation[0] = e.target.value; viewSetByHand(); schedulePreview(); });
  $('#rot-phi').addEventListener('input', (e) => { state.rotation[1] = e.target.value; viewSetByHand(); schedulePreview(); });
  $('#fit').addEventListener('click', fitToPlaces);
  $('#preview-toggle').addEventListener('click', togglePreview);
  $('#reset-view').addEventListener('click', resetView);
  $('#add-person').addEventListener('click', addPerson);
  $('#undo').addEventListener('click', undo);
  $('#redo').addEventListener('click', redo);
  // Ctrl+Z / Ctrl+Shift+Z (and Ctrl+Y) anywhere on the page: the page's undo, not a field's own,
  // so that a removed person comes back as surely as a typed letter goes.
  document.addEventListener('keydown', (e) => {
    if (!(e.ctrlKey || e.metaKey) || e.altKey || doc.readOnly) return;
    const k = e.key.toLowerCase();
    if (k === 'z' && !e.shiftKey) { e.preventDefault(); undo(); }
    else if ((k === 'z' && e.shiftKey) || k === 'y') { e.preventDefault(); redo(); }
  });
  $('#save').addEventListener('click', () => saveNow({ create: true }));
  $('#export').addEventListener('click', exportPoster);
  $('#format').addEventListener('change', markStaleExport);
  $('#copy-edit').addEventListener('click', () => copyLink('edit'));
  $('#copy-view').addEventListener('click', () => copyLink('view'));
  $('#make-copy').addEventListener('click', makeCopy);
  $('#edit-here').addEventListener('click', () => {
    const mine = myMaps().find((m) => m.id === doc.id);
    if (mine) location.assign(`/?map=${mine.id}#edit=${mine.token}`);
  });
  $('#map-form').addEventListener('submit', (e) => e.preventDefault());
  setupDrag();
  let lastDpi = 0;
  window.addEventListener('resize', () => {
    const dpi = previewDpi();
    if (Math.abs(dpi - lastDpi) > 2) { lastDpi = dpi; schedulePreview(); }
  });
  // Leaving with edits the server does not have yet asks first (the draft keeps them anyway).
  window.addEventListener('beforeunload', (e) => {
    if (!isDirty()) return;
    e.preventDefault();
    e.returnValue = '';
  });
  // A link that differs only in its fragment (another map's edit token) does not load a page
  // by itself: load it, so the page always shows what its URL says.
  window.addEventListener('hashchange', () => location.reload());
  // Back online: try a failed save at once rather than at the end of its wait.
  window.addEventListener('online', () => { if (doc.retryTimer) saveNow(); });
  // Another tab saved a map or deleted one: the list follows.
  window.addEventListener('storage', (e) => { if (e.key === MY_MAPS_KEY) renderMyMaps(); });

  state.people = [{ id: newPersonId(), name: 'Person 1', color: '', locations: [] }];
  await openFromUrl();
  const own = (sel, value, text) => { if (!$(sel).querySelector(`option[value="${CSS.escape(value)}"]`)) $(sel).append(new Option(text, value)); };
  own('#projection', state.projection, PROJECTION_NAMES[state.projection] || state.projection);
  own('#theme', state.theme, state.theme);
  syncLookControls();
  renderPeople();
  renderMyMaps();
  updateMapBar();
  lastDpi = previewDpi();
  doc.ready = true;
  if (!doc.readOnly) {
    if (saveJson() === doc.savedJson) showClean();
    else noteEdit(); // a restored draft: save it
  }
  resetHistory();
  schedulePreview(0);
  const res = await exportInfo;
  if (!res.ok) {
    showErrors([], `Cannot load sizes and themes from the server (${res.status || 'no answer'}).`);
    return;
  }
  applyExportInfo(res.json);
  applyReadOnly();
  if (preview.skipped) schedulePreview(0);
  document.body.dataset.ready = 'true';
}

start();
