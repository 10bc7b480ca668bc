// profefe's web UI: pick a service, type, sample type, range and labels;
// see the timeline, the merged flame graph and the top table; compare
// with a baseline. Every view's state is in the URL.
import { ApiError, get, query } from './api.js';
import { FlameGraph } from './flame.js';
import { escapeRegExp, formatValue, isoUTC, pct, shortUTC } from './format.js';
import { Timeline } from './timeline.js';
import { TopTable } from './top.js';

const $ = (id) => document.getElementById(id);
const RANGES = { '15m': 15 * 60e3, '1h': 3600e3, '6h': 6 * 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };
const KEYS = ['service', 'type', 'sample_type', 'range', 'from', 'to', 'labels', 'compare', 'base_from', 'base_to',
  'base_labels', 'max_nodes', 'search', 'zoom'];

// the state, as the URL holds it
let state = {};
let controller = null;
const ui = { loads: 0, state: () => state };
window.profefeUI = ui;

function readURL() {
  const q = new URLSearchParams(location.search);
  const s = {};
  for (const k of KEYS) if (q.has(k)) s[k] = q.get(k);
  if (!s.from && !s.to && !s.range) s.range = '1h';
  if (s.max_nodes === undefined) s.max_nodes = '10000';
  return s;
}

function writeURL(push) {
  const s = {};
  for (const k of KEYS) if (state[k] != null && state[k] !== '') s[k] = state[k];
  if (s.max_nodes === '10000') delete s.max_nodes;
  const url = `${location.pathname}?${query(s)}`;
  if (url !== location.pathname + location.search) history[push ? 'pushState' : 'replaceState'](null, '', url);
}

// the range in epoch ms: a preset counts back from now
function range() {
  if (state.range && RANGES[state.range]) {
    const to = Date.now();
    return { from: to - RANGES[state.range], to };
  }
  const from = Date.parse(state.from);
  const to = Date.parse(state.to);
  if (Number.isNaN(from) || Number.isNaN(to)) throw new ApiError(400, `bad range: "${state.from || ''}" to "${state.to || ''}" (want times such as 2026-12-01T10:00:00Z)`);
  if (from > to) throw new ApiError(400, `bad range: from (${state.from}) is after to (${state.to})`);
  return { from, to };
}

function baseline(r) {
  if (state.compare === 'previous') {
    const span = r.to - r.from;
    return { base_from: isoUTC(r.from - span), base_to: isoUTC(r.from), base_labels: state.base_labels || '' };
  }
  if (state.compare === 'custom') {
    return { base_from: state.base_from || '', base_to: state.base_to || '', base_labels: state.base_labels || '' };
  }
  return null;
}

function showError(msg) {
  const e = $('error');
  e.textContent = msg || '';
  e.hidden = !msg;
}

function fillSelect(sel, values, current, labelOf = (v) => v) {
  sel.innerHTML = values.map((v) => `<option value="${v.replace(/"/g, '&quot;')}">${labelOf(v)}</option>`).join('');
  if (current && values.includes(current)) sel.value = current;
  return sel.value;
}

function syncInputs() {
  $('from').value = state.range ? '' : state.from || '';
  $('to').value = state.range ? '' : state.to || '';
  for (const b of $('presets').querySelectorAll('button')) b.classList.toggle('on', b.dataset.range === state.range);
  $('labels').value = state.labels || '';
  $('compare').value = state.compare || '';
  $('base-fields').hidden = state.compare !== 'custom';
  $('base-from').value = state.base_from || '';
  $('base-to').value = state.base_to || '';
  $('base-labels').value = state.base_labels || '';
  $('max-nodes').value = state.max_nodes ?? '10000';
  $('search').value = state.search || '';
}

const timeline = new Timeline($('timeline'), {
  onSelect(from, to) {
    state = { ...state, range: '', from: isoUTC(from), to: isoUTC(to), zoom: '' };
    syncInputs();
    load(true);
  },
});
const flame = new FlameGraph($('flame'), $('tooltip'), {
  onZoom(path) {
    state.zoom = path.length ? JSON.stringify(path) : '';
    $('zoom-path').textContent = path.join(' → ');
    writeURL(false);
  },
});
const top = new TopTable($('top'), $('top-filter'), {
  onPick(func) {
    state.search = `^${escapeRegExp(func)}$`;
    $('search').value = state.search;
    applySearch();
    writeURL(false);
  },
});
ui.flame = flame;
ui.top = top;
ui.timeline = timeline;

function applySearch() {
  let re = null;
  $('search-result').textContent = '';
  if (state.search) {
    try {
      re = new RegExp(state.search);
    } catch (e) {
      $('search-result').textContent = `invalid regular expression: ${e.message}`;
      return;
    }
  }
  const m = flame.setSearch(re);
  ui.lastSearch = m;
  if (m && ui.data) {
    const d = ui.data;
    $('search-result').textContent = d.totalRight !== undefined
      ? `matched: ${pct(m.value, d.total)} of the baseline, ${pct(m.valueRight, d.totalRight)} of the selection`
      : `matched: ${formatValue(m.value, d.unit)} (${pct(m.value, d.total)})`;
  }
}

// a service or type the URL names is kept even when the list lacks it, so
// that the error says so instead of another one being shown
async function loadServices() {
  const [services, version] = await Promise.all([get('/api/0/services', {}), get('/api/0/version', {})]);
  ui.auth = version.auth;
  if (!services.length) throw new ApiError(404, 'no profiles stored yet: send some (see the README) and reload');
  ui.services = services;
  if (state.service && !services.includes(state.service)) services.push(state.service);
  state.service = fillSelect($('service'), services, state.service);
}

async function loadTypes(r) {
  let types = await get('/api/0/types', { service: state.service, from: isoUTC(r.from), to: isoUTC(r.to) });
  if (!types.length) types = await get('/api/0/types', { service: state.service });
  types = types.filter((t) => t !== 'trace');
  if (!types.length && !state.type) throw new ApiError(404, `service "${state.service}" has no pprof profiles`);
  if (state.type && !types.includes(state.type)) types.push(state.type);
  state.type = fillSelect($('type'), types, state.type);
}

function stepFor(span) {
  const steps = [10e3, 30e3, 60e3, 300e3, 900e3, 1800e3, 3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 86400e3];
  return steps.find((s) => span / s <= 150) || 86400e3;
}

// everything for the current state: timeline, flame graph, top table
async function load(push) {
  if (controller) controller.abort();
  controller = new AbortController();
  const signal = controller.signal;
  const n = ++ui.loads;
  document.body.dataset.state = 'loading';
  writeURL(push);
  syncInputs();
  try {
    const r = range();
    if (!ui.services) await loadServices();
    await loadTypes(r);
    const sel = { service: state.service, type: state.type, from: isoUTC(r.from), to: isoUTC(r.to), labels: state.labels };
    const base = baseline(r);
    if (base && state.compare === 'custom' && !base.base_from && !base.base_to && !base.base_labels) {
      throw new ApiError(400, 'compare: give a base range, base labels or both');
    }
    const view = { ...sel, sample_type: state.sample_type, ...(base || {}) };
    const stepMs = stepFor(r.to - r.from);
    const t0 = performance.now();
    // the flame graph and its top rows from one merge; the series beside it
    const [fg, series] = await Promise.all([
      get('/api/0/profiles/flamegraph', { ...view, max_nodes: state.max_nodes, top: 5000 }, signal),
      get('/api/0/profiles/series', { ...sel, sample_type: state.sample_type, step: `${stepMs / 1000}s` }, signal)
        .catch((e) => (e.name === 'AbortError' ? Promise.reject(e) : [])),
    ]);
    if (n !== ui.loads) return;
    const t1 = performance.now();
    state.sample_type = fillSelect($('sample-type'), fg.sample_types.map((t) => t.type), state.sample_type || fg.sample_type);
    ui.data = { unit: fg.unit, total: fg.total, totalRight: base ? fg.totalRight : undefined };
    timeline.setData(series, { unit: fg.unit, from: r.from, to: r.to });
    flame.setData({ rows: fg.rows, unit: fg.unit, total: fg.total, totalRight: fg.totalRight, diff: !!base });
    if (state.zoom) {
      try { flame.zoomByPath(JSON.parse(state.zoom)); } catch (e) { state.zoom = ''; }
    }
    $('zoom-path').textContent = flame.zoomPath().join(' → ');
    top.setData({ rows: fg.top, unit: fg.unit, diff: !!base });
    applySearch();
    const profiles = timeline.profiles;
    $('summary').textContent = base
      ? `${shortUTC(r.from)} – ${shortUTC(r.to)}: ${formatValue(fg.totalRight, fg.unit)} ${fg.sample_type} against ` +
        `${formatValue(fg.total, fg.unit)} from ${shortUTC(Date.parse(base.base_from || sel.from))} – ${shortUTC(Date.parse(base.base_to || sel.to))}` +
        `${base.base_labels ? ` (${base.base_labels})` : ''}; red: a larger share now, green: a smaller one`
      : `${shortUTC(r.from)} – ${shortUTC(r.to)}: ${profiles} profiles, ${formatValue(fg.total, fg.unit)} ${fg.sample_type}` +
        `${fg.rows.length ? `, ${fg.rows.length} frames` : ''} (drag across the chart to narrow the range)`;
    links(sel, base);
    showError('');
    // for the benchmark (bench/ui.sh): fetching, then drawing everything
    ui.timings = { fetch_ms: t1 - t0, render_ms: performance.now() - t1, frames: fg.rows.length };
    document.body.dataset.state = 'ready';
  } catch (e) {
    if (e.name === 'AbortError') return;
    if (n !== ui.loads) return;
    let msg = e.message;
    if (e.status === 404 && /^nothing found/.test(msg)) {
      msg = msg === 'nothing found'
        ? `no ${state.type} profiles of ${state.service}${state.labels ? ` with ${state.labels}` : ''} in this range: pick a wider range or other labels`
        : msg.replace(/^nothing found/, 'no profiles') ;
    }
    flame.setData({ rows: [], unit: '', total: 0 });
    top.setData({ rows: [], unit: '' });
    timeline.clear();
    $('summary').textContent = '';
    showError(msg);
    document.body.dataset.state = 'error';
  }
}

// "download pprof" and the go tool pprof command for the same view
function links(sel, base) {
  const origin = location.origin;
  // behind tokens, the command takes one from the environment (the browser's is out of reach)
  const cmdOrigin = ui.auth === 'tokens' ? `${location.protocol}//u:\${PROFEFE_TOKEN}@${location.host}` : origin;
  const q = ui.auth === 'tokens' ? '"' : "'";
  const url = `${origin}/api/0/profiles/merge?${query(sel)}`;
  $('download').href = url;
  $('download').setAttribute('download', `${state.service}-${state.type}.pb.gz`);
  let cmd = `go tool pprof -http=: `;
  if (state.sample_type) cmd += `-sample_index=${state.sample_type} `;
  if (base) {
    const b = { ...sel, from: base.base_from || sel.from, to: base.base_to || sel.to, labels: base.base_labels || sel.labels };
    cmd += `-diff_base=${q}${cmdOrigin}/api/0/profiles/merge?${query(b)}${q} `;
  }
  cmd += `${q}${cmdOrigin}/api/0/profiles/merge?${query(sel)}${q}`;
  $('command').textContent = cmd;
  $('command').title = cmd;
}

// label suggestions: keys, then the values of the key being typed
const valueCache = new Map();
let suggestSeq = 0;
async function suggest(input) {
  const seq = ++suggestSeq;
  const text = input.value;
  const cut = text.lastIndexOf(',') + 1;
  const head = text.slice(0, cut);
  const token = text.slice(cut);
  let r;
  try { r = range(); } catch (e) { return; }
  const sel = { service: state.service, type: state.type, from: isoUTC(r.from), to: isoUTC(r.to) };
  let options = [];
  try {
    if (!token.includes('=')) {
      const keys = await get('/api/0/labels', sel);
      options = keys.map((k) => `${head}${k}=`);
    } else {
      const key = token.slice(0, token.indexOf('='));
      const ck = JSON.stringify([sel, key]);
      if (!valueCache.has(ck)) valueCache.set(ck, await get('/api/0/labels/values', { ...sel, key }));
      options = valueCache.get(ck).map((v) => `${head}${key}=${v}`);
    }
  } catch (e) {
    return;
  }
  if (seq !== suggestSeq) return;	// a later keystroke's answer wins, whichever comes first
  $('label-suggest').innerHTML = options.slice(0, 200).map((o) => `<option value="${o.replace(/"/g, '&quot;')}">`).join('');
}

function fromInputs() {
  const from = $('from').value.trim();
  const to = $('to').value.trim();
  if (from || to) state = { ...state, range: '', from, to };
  state.labels = $('labels').value.trim();
  state.compare = $('compare').value;
  state.base_from = state.compare === 'custom' ? $('base-from').value.trim() : '';
  state.base_to = state.compare === 'custom' ? $('base-to').value.trim() : '';
  state.base_labels = state.compare === 'custom' ? $('base-labels').value.trim() : '';
  state.max_nodes = $('max-nodes').value;
}

$('apply').addEventListener('click', () => { fromInputs(); state.zoom = ''; load(true); });
for (const id of ['from', 'to', 'labels', 'base-from', 'base-to', 'base-labels']) {
  $(id).addEventListener('keydown', (e) => { if (e.key === 'Enter') $('apply').click(); });
}
$('labels').addEventListener('input', (e) => suggest(e.target));
$('labels').addEventListener('focus', (e) => suggest(e.target));
$('presets').addEventListener('click', (e) => {
  const b = e.target.closest('button');
  if (!b) return;
  state = { ...state, range: b.dataset.range, from: '', to: '', zoom: '' };
  load(true);
});
$('service').addEventListener('change', (e) => { state = { ...state, service: e.target.value, type: '', sample_type: '', labels: '', zoom: '', search: '' }; load(true); });
$('type').addEventListener('change', (e) => { state = { ...state, type: e.target.value, sample_type: '', zoom: '', search: '' }; load(true); });
$('sample-type').addEventListener('change', (e) => { state = { ...state, sample_type: e.target.value, zoom: '' }; load(true); });
$('compare').addEventListener('change', () => {
  $('base-fields').hidden = $('compare').value !== 'custom';
  if ($('compare').value !== 'custom') { fromInputs(); load(true); }
});
$('max-nodes').addEventListener('change', () => { fromInputs(); load(true); });
$('search').addEventListener('input', (e) => { state.search = e.target.value; applySearch(); writeURL(false); });
$('reset-zoom').addEventListener('click', () => flame.reset());
$('copy').addEventListener('click', () => navigator.clipboard && navigator.clipboard.writeText($('command').textContent));
window.addEventListener('popstate', () => { state = readURL(); load(false); });

state = readURL();
load(false);
