// The web UI of `osprey view`: a virtualized packet list, the detail tree and the bytes pane,
// over the API of docs/view-api.md. Event data is only ever put in the page as text
// (textContent, createTextNode): never as HTML.

import './style.css';

interface Column { title: string; field: string; right: boolean; width: number }
interface Color { name: string; filter: string; foreground: string; background: string }
interface Named { label: string; filter: string }
interface Profile { name: string; columns: Column[]; colors: Color[]; buttons: Named[]; bookmarks: Named[] }
interface Row { number: number; ts: string; prev_shown_ts: string | null; color: number | null; cells: string[] }
interface Window { total: number; complete: boolean; offset: number; rows: Row[] }
interface Span { start: number; len: number; source: string }
interface Node { depth: number; field: string; name: string; value: string; text: string; filter: string; generated: boolean; span: Span | null }
interface Detail { number: number; kind: string; sources: { name: string; len: number }[]; tree: Node[] }
interface IndexProgress { frames: number; done: boolean; bytes_read: number; bytes_total: number | null; index_bytes: number; elapsed_ms: number; error: string | null }
interface ViewState { filter: string; matched: number; scanned: number; total: number; done: boolean; cancelled: boolean; elapsed_ms: number }

const ROW_H = 18;
// Browsers cap an element's height (Chromium near 33.5M px, Firefox near 17.9M px): beyond
// this the scrollbar is scaled rather than one pixel per pixel of rows.
const MAX_PX = 8_000_000;
const CHUNK = 100;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const el = (tag: string, cls?: string, text?: string) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

async function api<T>(path: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const r = await fetch(path, init);
  const body = (await r.json()) as T;
  return { status: r.status, body };
}

const state = {
  profile: null as Profile | null,
  firstTs: null as bigint | null,
  filter: '',            // the applied filter ('' for every frame)
  total: 0,              // rows in the current view
  complete: false,
  cache: new Map<number, Row>(),   // view offset -> row
  pending: new Set<number>(),      // chunk starts being fetched
  generation: 0,                   // bumped when the view changes
  selected: null as number | null, // selected frame number
  selectedOffset: null as number | null,
  timefmt: 'relative',
  widths: [] as number[],
  frames: 0,
  index: null as IndexProgress | null,
  viewState: null as ViewState | null,
  detail: null as Detail | null,
  sourceBytes: new Map<string, Uint8Array>(),
  tab: 'json',
  selectedNode: null as number | null,
};

// ---------- time formats ----------
function fmtSeconds(ns: bigint): string {
  const neg = ns < 0n;
  const a = neg ? -ns : ns;
  const s = a / 1_000_000_000n;
  const f = (a % 1_000_000_000n).toString().padStart(9, '0');
  return `${neg ? '-' : ''}${s}.${f}`;
}
function fmtAbsolute(ns: bigint): string {
  const ms = Number(ns / 1_000_000n);
  const d = new Date(ms);
  const iso = d.toISOString(); // 2022-07-08T22:59:27.356Z
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${frac}`;
}
function timeCell(row: Row): string {
  const ts = BigInt(row.ts);
  switch (state.timefmt) {
    case 'absolute': return fmtAbsolute(ts);
    case 'delta': return fmtSeconds(row.prev_shown_ts === null ? 0n : ts - BigInt(row.prev_shown_ts));
    default: return fmtSeconds(state.firstTs === null ? 0n : ts - state.firstTs);
  }
}

// ---------- packet list ----------
const scroller = $<HTMLDivElement>('list-scroll');
const spacer = $<HTMLDivElement>('list-spacer');
const rowsEl = $<HTMLDivElement>('list-rows');
const head = $<HTMLDivElement>('list-head');

function setColumns() {
  const list = $<HTMLDivElement>('list');
  // The last column (Info) takes the room that is left.
  const w = state.widths;
  list.style.setProperty('--cols', w.slice(0, -1).map((x) => `${x}px`).concat(`minmax(${w[w.length - 1]}px, 1fr)`).join(' '));
  rowsEl.style.width = `${Math.max(scroller.clientWidth, w.reduce((a, b) => a + b, 0))}px`;
}

function buildHeader() {
  const p = state.profile!;
  head.replaceChildren();
  state.widths = p.columns.map((c) => {
    // Room for a time with nanoseconds, and for frame numbers in the millions.
    const chars = c.field.startsWith('frame.time') ? 20 : c.field === 'frame.number' ? 9 : Math.max(c.width || 12, c.title.length + 1);
    return Math.max(40, Math.min(600, chars * 7.3 + 10));
  });
  p.columns.forEach((c, i) => {
    const h = el('div', 'h', c.title);
    h.title = c.field;
    const grip = el('div', 'grip');
    grip.addEventListener('mousedown', (ev) => {
      ev.preventDefault();
      const x0 = ev.clientX;
      const w0 = state.widths[i];
      const move = (e: MouseEvent) => { state.widths[i] = Math.max(24, w0 + e.clientX - x0); setColumns(); };
      const up = () => { window.removeEventListener('mousemove', move); window.removeEventListener('mouseup', up); };
      window.addEventListener('mousemove', move);
      window.addEventListener('mouseup', up);
    });
    h.appendChild(grip);
    head.appendChild(h);
  });
  setColumns();
}

/** Total scroll height, capped; and the mapping from scrollTop to the first row. */
function geometry() {
  const exact = state.total * ROW_H;
  const height = Math.min(exact, MAX_PX);
  const view = scroller.clientHeight;
  const maxScroll = Math.max(0, height - view);
  const scaled = exact > MAX_PX;
  const top = Math.min(scroller.scrollTop, maxScroll);
  // The position in "row pixels" the top of the viewport shows.
  const pos = scaled && maxScroll > 0 ? (top / maxScroll) * Math.max(0, exact - view) : top;
  return { height, view, top, pos, scaled, maxScroll, exact };
}

function render() {
  const g = geometry();
  spacer.style.height = `${g.height}px`;
  const first = Math.floor(g.pos / ROW_H);
  const sub = g.pos - first * ROW_H;
  const count = Math.ceil(g.view / ROW_H) + 1;
  rowsEl.style.transform = `translateY(${g.top - sub}px)`;
  const p = state.profile;
  if (!p) return;
  const nodes: HTMLElement[] = [];
  for (let i = first; i < Math.min(state.total, first + count); i++) {
    const row = state.cache.get(i);
    const div = el('div', 'row');
    div.dataset.offset = String(i);
    if (!row) {
      div.classList.add('loading');
      const c = el('div', 'c', '…');
      div.appendChild(c);
      nodes.push(div);
      continue;
    }
    div.dataset.number = String(row.number);
    if (row.color !== null && p.colors[row.color]) {
      div.style.color = p.colors[row.color].foreground;
      div.style.backgroundColor = p.colors[row.color].background;
      div.title = p.colors[row.color].name;
    } else {
      div.classList.add('plain');
    }
    if (row.number === state.selected) div.classList.add('sel');
    p.columns.forEach((c, k) => {
      const text = c.field.startsWith('frame.time') ? timeCell(row) : row.cells[k] ?? '';
      div.appendChild(el('div', c.right ? 'c r' : 'c', text));
    });
    nodes.push(div);
  }
  rowsEl.replaceChildren(...nodes);
  fetchMissing(first, count);
}

function fetchMissing(first: number, count: number) {
  const from = Math.max(0, first - CHUNK);
  const to = Math.min(state.total, first + count + CHUNK);
  for (let c = Math.floor(from / CHUNK) * CHUNK; c < to; c += CHUNK) {
    let missing = false;
    for (let i = c; i < Math.min(c + CHUNK, state.total); i++) if (!state.cache.has(i)) { missing = true; break; }
    if (!missing || state.pending.has(c)) continue;
    state.pending.add(c);
    const gen = state.generation;
    const q = new URLSearchParams({ offset: String(c), limit: String(CHUNK) });
    if (state.filter) q.set('filter', state.filter);
    api<Window>(`/api/rows?${q}`).then(({ status, body }) => {
      if (gen !== state.generation) return;
      state.pending.delete(c);
      if (status !== 200) return;
      body.rows.forEach((r, k) => state.cache.set(body.offset + k, r));
      // Rows of a view that is still growing may not all be there yet: not cached as final.
      scheduleRender();
    }).catch(() => state.pending.delete(c));
  }
  // Keep the cache bounded.
  if (state.cache.size > 20000) {
    for (const k of state.cache.keys()) if (Math.abs(k - first) > 5000) state.cache.delete(k);
  }
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; render(); });
}
scroller.addEventListener('scroll', scheduleRender, { passive: true });
window.addEventListener('resize', scheduleRender);

/** Scrolls so that view offset `i` is visible. */
function scrollToOffset(i: number) {
  const g = geometry();
  const rowTop = i * ROW_H;
  if (!g.scaled) {
    if (rowTop < g.top) scroller.scrollTop = rowTop;
    else if (rowTop + ROW_H > g.top + g.view) scroller.scrollTop = rowTop + ROW_H - g.view;
  } else {
    const posMax = Math.max(1, g.exact - g.view);
    const wantPos = Math.min(posMax, Math.max(0, rowTop - g.view / 2));
    scroller.scrollTop = (wantPos / posMax) * g.maxScroll;
  }
  scheduleRender();
}

rowsEl.addEventListener('click', (ev) => {
  const row = (ev.target as HTMLElement).closest('.row') as HTMLElement | null;
  if (!row || !row.dataset.number) return;
  select(Number(row.dataset.number), Number(row.dataset.offset));
});

scroller.addEventListener('keydown', (ev) => {
  if (state.total === 0) return;
  const page = Math.max(1, Math.floor(scroller.clientHeight / ROW_H) - 1);
  const cur = state.selectedOffset ?? -1;
  let next: number | null = null;
  if (ev.key === 'ArrowDown') next = cur + 1;
  else if (ev.key === 'ArrowUp') next = cur - 1;
  else if (ev.key === 'PageDown') next = cur + page;
  else if (ev.key === 'PageUp') next = cur - page;
  else if (ev.key === 'Home') next = 0;
  else if (ev.key === 'End') next = state.total - 1;
  if (next === null) return;
  ev.preventDefault();
  selectOffset(Math.max(0, Math.min(state.total - 1, next)));
});

async function selectOffset(i: number) {
  state.selectedOffset = i;
  scrollToOffset(i);
  let row = state.cache.get(i);
  if (!row) {
    const q = new URLSearchParams({ offset: String(i), limit: '1' });
    if (state.filter) q.set('filter', state.filter);
    const { body } = await api<Window>(`/api/rows?${q}`);
    row = body.rows[0];
    if (row) state.cache.set(i, row);
  }
  if (row) select(row.number, i);
}

// ---------- detail and bytes ----------
const tree = $<HTMLDivElement>('tree');
const bytesView = $<HTMLDivElement>('bytes-view');

async function select(number: number, offset: number) {
  state.selected = number;
  state.selectedOffset = offset;
  state.selectedNode = null;
  scheduleRender();
  const { status, body } = await api<Detail>(`/api/frames/${number}`);
  if (status !== 200 || state.selected !== number) return;
  state.detail = body;
  state.sourceBytes.clear();
  for (const s of body.sources) {
    const r = await fetch(`/api/frames/${number}/bytes?source=${encodeURIComponent(s.name)}`);
    state.sourceBytes.set(s.name, new Uint8Array(await r.arrayBuffer()));
  }
  if (state.selected !== number) return;
  state.tab = body.sources[0]?.name ?? 'json';
  $<HTMLSpanElement>('detail-title').textContent = `Frame ${number} (${body.kind})`;
  renderTree();
  renderBytes();
}

function renderTree() {
  const d = state.detail;
  tree.replaceChildren();
  if (!d) return;
  d.tree.forEach((n, i) => {
    const div = el('div', 'node');
    div.dataset.i = String(i);
    div.dataset.depth = String(n.depth);
    div.dataset.field = n.field;
    if (n.generated) div.classList.add('gen');
    const hasKids = i + 1 < d.tree.length && d.tree[i + 1].depth > n.depth;
    div.appendChild(document.createTextNode(' '.repeat(n.depth * 3)));
    const tw = el('span', 'tw', hasKids ? '▾' : '');
    div.appendChild(tw);
    div.appendChild(el('span', 't', n.generated ? `[${n.text}]` : n.text));
    div.title = n.filter;
    if (hasKids) div.classList.add('open');
    tree.appendChild(div);
  });
}

function setOpen(div: HTMLElement, open: boolean) {
  const depth = Number(div.dataset.depth);
  div.classList.toggle('open', open);
  const tw = div.querySelector('.tw');
  if (tw && tw.textContent) tw.textContent = open ? '▾' : '▸';
  // Show or hide the descendants (a closed subtree inside stays closed).
  let sib = div.nextElementSibling as HTMLElement | null;
  const hiddenUnder: number[] = [];
  while (sib && Number(sib.dataset.depth) > depth) {
    const d = Number(sib.dataset.depth);
    while (hiddenUnder.length && d <= hiddenUnder[hiddenUnder.length - 1]) hiddenUnder.pop();
    sib.style.display = open && hiddenUnder.length === 0 ? '' : 'none';
    if (sib.querySelector('.tw')?.textContent === '▸') hiddenUnder.push(d);
    sib = sib.nextElementSibling as HTMLElement | null;
  }
}

tree.addEventListener('click', (ev) => {
  const div = (ev.target as HTMLElement).closest('.node') as HTMLElement | null;
  if (!div) return;
  if ((ev.target as HTMLElement).classList.contains('tw') && div.querySelector('.tw')?.textContent) {
    setOpen(div, !div.classList.contains('open'));
    return;
  }
  tree.querySelectorAll('.node.sel').forEach((n) => n.classList.remove('sel'));
  div.classList.add('sel');
  state.selectedNode = Number(div.dataset.i);
  const span = state.detail?.tree[state.selectedNode]?.span;
  if (span && state.sourceBytes.has(span.source)) state.tab = span.source;
  renderBytes();
});

$('expand').addEventListener('click', () => {
  tree.querySelectorAll<HTMLElement>('.node').forEach((n) => {
    if (n.querySelector('.tw')?.textContent) { n.classList.add('open'); n.querySelector('.tw')!.textContent = '▾'; }
    n.style.display = '';
  });
});
$('collapse').addEventListener('click', () => {
  tree.querySelectorAll<HTMLElement>('.node').forEach((n) => {
    if (n.querySelector('.tw')?.textContent) { n.classList.remove('open'); n.querySelector('.tw')!.textContent = '▸'; }
    n.style.display = Number(n.dataset.depth) === 0 ? '' : 'none';
  });
});

const TAB_NAMES: Record<string, string> = { json: 'Event JSON', frame: 'Frame', packet: 'Network Packet' };

function renderBytes() {
  const d = state.detail;
  const tabs = $<HTMLDivElement>('tabs');
  tabs.replaceChildren();
  bytesView.replaceChildren();
  if (!d) return;
  for (const s of d.sources) {
    const b = el('button', s.name === state.tab ? 'active' : '', `${TAB_NAMES[s.name] ?? s.name} (${s.len} bytes)`);
    b.dataset.source = s.name;
    b.addEventListener('click', () => { state.tab = s.name; renderBytes(); });
    tabs.appendChild(b);
  }
  const bytes = state.sourceBytes.get(state.tab);
  if (!bytes) return;
  const node = state.selectedNode !== null ? d.tree[state.selectedNode] : null;
  const span = node?.span && node.span.source === state.tab ? node.span : null;
  if (state.tab === 'json') {
    // The raw line as text, the selected field's exact bytes in a <mark>.
    const dec = new TextDecoder('utf-8');
    const pre = el('pre');
    if (span) {
      pre.appendChild(document.createTextNode(dec.decode(bytes.subarray(0, span.start))));
      pre.appendChild(el('mark', '', dec.decode(bytes.subarray(span.start, span.start + span.len))));
      pre.appendChild(document.createTextNode(dec.decode(bytes.subarray(span.start + span.len))));
    } else {
      pre.textContent = dec.decode(bytes);
    }
    bytesView.appendChild(pre);
    bytesView.querySelector('mark')?.scrollIntoView({ block: 'nearest' });
  } else {
    bytesView.appendChild(hexDump(bytes, span));
  }
}

function hexDump(bytes: Uint8Array, span: Span | null): HTMLElement {
  const pre = el('pre', 'hex');
  const inSpan = (i: number) => span !== null && i >= span.start && i < span.start + span.len;
  for (let off = 0; off < bytes.length; off += 16) {
    pre.appendChild(document.createTextNode(off.toString(16).padStart(4, '0') + '  '));
    for (let k = 0; k < 16; k++) {
      const i = off + k;
      const t = i < bytes.length ? bytes[i].toString(16).padStart(2, '0') : '  ';
      const s = el('span', inSpan(i) ? 'hl' : '', t);
      pre.appendChild(s);
      pre.appendChild(document.createTextNode(k === 7 ? '  ' : ' '));
    }
    pre.appendChild(document.createTextNode(' '));
    for (let k = 0; k < 16 && off + k < bytes.length; k++) {
      const b = bytes[off + k];
      pre.appendChild(el('span', inSpan(off + k) ? 'hl' : '', b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.'));
    }
    pre.appendChild(document.createTextNode('\n'));
  }
  return pre;
}

// ---------- display filter ----------
const input = $<HTMLInputElement>('filter');
const wrap = $<HTMLDivElement>('filter-wrap');
const under = $<HTMLDivElement>('filter-under');
const errorLine = $<HTMLDivElement>('filter-error');
let checkSeq = 0;

function byteToCharIndex(text: string, byte: number): number {
  const enc = new TextEncoder();
  let b = 0;
  let i = 0;
  for (const ch of text) {
    if (b >= byte) break;
    b += enc.encode(ch).length;
    i += ch.length;
  }
  return i;
}

async function checkFilter() {
  const text = input.value;
  const seq = ++checkSeq;
  if (text.trim() === '') {
    wrap.classList.remove('ok', 'bad');
    under.textContent = '';
    errorLine.textContent = '';
    return true;
  }
  const { status, body } = await api<{ ok?: boolean; error?: { message: string; position: number; length: number } | string }>(
    `/api/check?filter=${encodeURIComponent(text)}`);
  if (seq !== checkSeq) return false;
  under.replaceChildren();
  if (status === 200) {
    wrap.classList.add('ok'); wrap.classList.remove('bad');
    errorLine.textContent = '';
    return true;
  }
  wrap.classList.add('bad'); wrap.classList.remove('ok');
  const e = body.error;
  if (e && typeof e === 'object') {
    const s = byteToCharIndex(text, e.position);
    const t = byteToCharIndex(text, e.position + e.length);
    under.appendChild(document.createTextNode(text.slice(0, s)));
    under.appendChild(el('span', 'err', t > s ? text.slice(s, t) : ' '));
    errorLine.textContent = `${e.message} (column ${s + 1})`;
  } else {
    errorLine.textContent = String(e ?? 'invalid filter');
  }
  return false;
}

let checkTimer: number | undefined;
input.addEventListener('input', () => {
  under.textContent = '';
  window.clearTimeout(checkTimer);
  checkTimer = window.setTimeout(checkFilter, 120);
});
input.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') applyFilter(input.value); });
$('apply').addEventListener('click', () => applyFilter(input.value));
$('clear').addEventListener('click', () => { input.value = ''; checkFilter(); applyFilter(''); });

function resetView(filter: string) {
  state.filter = filter;
  state.generation++;
  state.cache.clear();
  state.pending.clear();
  state.selectedOffset = null;
  scroller.scrollTop = 0;
}

async function applyFilter(text: string) {
  input.value = text;
  if (!(await checkFilter())) return;
  if (text.trim() === '') {
    resetView('');
    state.viewState = null;
    state.total = state.frames;
    updateStatus();
    scheduleRender();
    return;
  }
  const { status, body } = await api<ViewState>('/api/views', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filter: text }),
  });
  if (status !== 200) return;
  resetView(text);
  state.viewState = body;
  state.total = body.matched;
  updateStatus();
  scheduleRender();
}

// ---------- progress (SSE) and status ----------
function updateStatus() {
  const idx = state.index;
  const left = $<HTMLSpanElement>('status-left');
  const right = $<HTMLSpanElement>('status-right');
  let s = `Frames: ${state.frames.toLocaleString('en-US')}`;
  if (state.filter && state.viewState) {
    const v = state.viewState;
    const pct = state.frames ? ((100 * v.matched) / state.frames).toFixed(1) : '0';
    s += ` · Displayed: ${v.matched.toLocaleString('en-US')} (${pct}%)`;
    if (!v.done) s += ` · filtering ${Math.round((100 * v.scanned) / Math.max(1, v.total))}%`;
    else s += ` · filter took ${v.elapsed_ms} ms`;
  } else {
    s += ` · Displayed: ${state.frames.toLocaleString('en-US')}`;
  }
  left.textContent = s;
  left.dataset.displayed = String(state.total);
  left.dataset.complete = String(state.filter ? !!state.viewState?.done : !!idx?.done);
  if (idx) {
    const perFrame = idx.frames ? (idx.index_bytes / idx.frames).toFixed(1) : '0';
    const pct = idx.bytes_total ? Math.round((100 * idx.bytes_read) / idx.bytes_total) : null;
    right.textContent = idx.done
      ? `Indexed in ${idx.elapsed_ms} ms · ${perFrame} B/frame · Profile: ${state.profile?.name ?? ''}`
      : `Indexing… ${pct === null ? '' : pct + '%'} · Profile: ${state.profile?.name ?? ''}`;
  }
}

function onProgress(p: { index: IndexProgress; views: ViewState[] }) {
  state.index = p.index;
  const grew = p.index.frames !== state.frames;
  state.frames = p.index.frames;
  if (!state.filter) {
    if (state.total !== state.frames) { state.total = state.frames; scheduleRender(); }
  } else {
    const v = p.views.find((x) => x.filter === state.filter);
    if (v) {
      const changed = !state.viewState || v.matched !== state.viewState.matched || v.done !== state.viewState.done;
      state.viewState = v;
      if (changed) {
        state.total = v.matched;
        // Chunks fetched while the view grew may be short: fetch them again.
        state.pending.clear();
        for (const k of [...state.cache.keys()]) if (k >= Math.floor(v.matched / CHUNK) * CHUNK - CHUNK) state.cache.delete(k);
        scheduleRender();
      }
    }
  }
  if (grew && state.firstTs === null) loadFirstTs();
  updateStatus();
}

async function loadFirstTs() {
  const { body } = await api<{ first_ts: string | null }>('/api/status');
  if (body.first_ts !== null) { state.firstTs = BigInt(body.first_ts); scheduleRender(); }
}

// ---------- go to frame ----------
document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey && (ev.key === 'g' || ev.key === 'G')) {
    ev.preventDefault();
    const n = Number(window.prompt('Go to frame:') ?? '');
    if (!Number.isInteger(n) || n < 1) return;
    if (!state.filter && n <= state.frames) selectOffset(n - 1);
  } else if (ev.ctrlKey && ev.key === '/') {
    ev.preventDefault();
    input.focus();
  }
});

$<HTMLSelectElement>('timefmt').addEventListener('change', (ev) => {
  state.timefmt = (ev.target as HTMLSelectElement).value;
  scheduleRender();
});

async function start() {
  const { body: profile } = await api<Profile>('/api/profile');
  state.profile = profile;
  buildHeader();
  const buttons = $<HTMLSpanElement>('buttons');
  for (const b of profile.buttons) {
    const btn = el('button', '', b.label);
    btn.title = b.filter;
    btn.addEventListener('click', () => applyFilter(b.filter));
    buttons.appendChild(btn);
  }
  const { body: status } = await api<{ index: IndexProgress; first_ts: string | null }>('/api/status');
  state.firstTs = status.first_ts === null ? null : BigInt(status.first_ts);
  onProgress({ index: status.index, views: [] });
  const es = new EventSource('/api/events');
  es.addEventListener('progress', (e) => onProgress(JSON.parse((e as MessageEvent).data)));
  scheduleRender();
  scroller.focus();
}

start();
