// The web UI of `osprey view`: a virtualized packet list, the detail tree and the bytes pane,
// over the API of docs/view-api.md. Event data is only ever put in the page as text
// (textContent, createTextNode): never as HTML.

import './style.css';
import {
  $, el, api, app, copy, message, showMenu, type MenuItem,
  type Column, type Profile, type Row, type Window, type Span, type Node, type Detail,
  type IndexProgress, type ViewState, type LiveState, type Progress,
} from './core';
import './analysis';

const ROW_H = 18;
// Browsers cap an element's height (Chromium near 33.5M px, Firefox near 17.9M px): beyond
// this the scrollbar is scaled rather than one pixel per pixel of rows.
const MAX_PX = 8_000_000;
const CHUNK = 100;

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
  precision: 9,
  extra: [] as string[],             // applied columns (field names), after the profile's
  order: [] as string[],             // column keys in display order (hidden ones left out)
  widthByKey: new Map<string, number>(),
  sort: null as { col: number; desc: boolean } | null,
  marked: app.marked,
  timeRef: null as { number: number; ts: bigint } | null,
  fields: [] as { field: string; name: string }[],
  macros: {} as Record<string, string>,
};

// ---------- columns: profile's then applied ones; order, hidden, widths kept in localStorage ----------
const COLS_KEY = 'osprey.view.columns';
/** The key of column i (of the profile's then the applied ones). */
function colKey(i: number): string {
  const n = state.profile!.columns.length;
  return i < n ? `#${i}` : `f:${state.extra[i - n]}`;
}
function allColumns(): Column[] {
  const p = state.profile!;
  return p.columns.concat(state.extra.map((f) => ({ title: f, field: f, right: false, width: 14 })));
}
function colIndex(key: string): number {
  const n = state.profile!.columns.length;
  if (key.startsWith('#')) return Number(key.slice(1));
  const i = state.extra.indexOf(key.slice(2));
  return i < 0 ? -1 : n + i;
}
/** The displayed columns, as indexes into allColumns(), in order. */
function shownColumns(): number[] {
  return state.order.map(colIndex).filter((i) => i >= 0 && i < allColumns().length);
}
function saveColumns() {
  const all = allColumns().map((_, i) => colKey(i));
  localStorage.setItem(COLS_KEY, JSON.stringify({
    extra: state.extra, order: state.order, hidden: all.filter((k) => !state.order.includes(k)),
    widths: Object.fromEntries(state.widthByKey),
  }));
}
function loadColumns() {
  const n = state.profile!.columns.length;
  type Saved = { extra?: string[]; order?: string[]; hidden?: string[]; widths?: Record<string, number> };
  let saved: Saved;
  try { saved = JSON.parse(localStorage.getItem(COLS_KEY) ?? '{}') as Saved; } catch { saved = {}; }
  state.extra = Array.isArray(saved.extra) ? saved.extra.filter((f) => typeof f === 'string') : [];
  const all = Array.from({ length: n + state.extra.length }, (_, i) => colKey(i));
  const hidden = new Set(saved.hidden ?? []);
  const order = (saved.order ?? []).filter((k) => all.includes(k));
  for (const k of all) if (!order.includes(k) && !hidden.has(k)) order.push(k);
  state.order = order;
  state.widthByKey = new Map(Object.entries(saved.widths ?? {}));
}
/** Query parameters for the rows of the current view and order. */
function orderParams(extra: Record<string, string> = {}): URLSearchParams {
  const q = new URLSearchParams(extra);
  if (state.filter) q.set('filter', state.filter);
  if (state.extra.length) q.set('columns', state.extra.join(','));
  if (state.sort) { q.set('sort', String(state.sort.col)); if (state.sort.desc) q.set('desc', '1'); }
  return q;
}
/** The row list changes (columns, order): rows are fetched again, the selection kept. */
function reorder() {
  state.generation++;
  state.cache.clear();
  state.pending.clear();
  saveColumns();
  buildHeader();
  const n = state.selected;
  if (n !== null) void goToFrame(n, false); else scheduleRender();
}

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
/** Cuts a time's nanoseconds to the chosen precision. */
function precise(t: string): string {
  const dot = t.lastIndexOf('.');
  if (dot < 0 || state.precision >= 9) return t;
  return state.precision === 0 ? t.slice(0, dot) : t.slice(0, dot + 1 + state.precision);
}
function timeCell(row: Row): string {
  const ts = BigInt(row.ts);
  const ref = state.timeRef;
  if (ref && row.number === ref.number && state.timefmt !== 'absolute' && state.timefmt !== 'epoch') return '*REF*';
  switch (state.timefmt) {
    case 'absolute': return precise(fmtAbsolute(ts));
    case 'epoch': return precise(fmtSeconds(ts));
    case 'delta': return precise(fmtSeconds(row.prev_shown_ts === null ? 0n : ts - BigInt(row.prev_shown_ts)));
    default: {
      // Frames after a time reference count from it, as in Wireshark.
      const base = ref && row.number > ref.number ? ref.ts : state.firstTs;
      return precise(fmtSeconds(base === null ? 0n : ts - base));
    }
  }
}

// ---------- packet list ----------
const scroller = $<HTMLDivElement>('list-scroll');
const spacer = $<HTMLDivElement>('list-spacer');
const rowsEl = $<HTMLDivElement>('list-rows');
const head = $<HTMLDivElement>('list-head');

function setColumns() {
  const list = $<HTMLDivElement>('list');
  // The last column takes the room that is left.
  const w = state.widths;
  if (w.length === 0) return;
  list.style.setProperty('--cols', w.slice(0, -1).map((x) => `${x}px`).concat(`minmax(${w[w.length - 1]}px, 1fr)`).join(' '));
  head.style.width = '100%';
  rowsEl.style.width = `${Math.max(scroller.clientWidth, w.reduce((a, b) => a + b, 0))}px`;
}

function defaultWidth(c: Column): number {
  // Room for a time with nanoseconds, and for frame numbers in the millions.
  const chars = c.field.startsWith('frame.time') ? 20 : c.field === 'frame.number' ? 9 : Math.max(c.width || 12, c.title.length + 1);
  return Math.max(40, Math.min(600, chars * 7.3 + 10));
}

let dragKey: string | null = null;
function buildHeader() {
  const cols = allColumns();
  const shown = shownColumns();
  head.replaceChildren();
  state.widths = shown.map((i) => state.widthByKey.get(colKey(i)) ?? defaultWidth(cols[i]));
  shown.forEach((i, pos) => {
    const c = cols[i];
    const key = colKey(i);
    const h = el('div', 'h', c.title);
    h.title = `${c.field} (click to sort, drag to move, right-click for more)`;
    h.dataset.key = key;
    h.dataset.col = String(i);
    if (state.sort?.col === i) h.classList.add(state.sort.desc ? 'sorted-desc' : 'sorted-asc');
    h.draggable = true;
    h.addEventListener('dragstart', (ev) => { dragKey = key; ev.dataTransfer?.setData('text/plain', key); });
    h.addEventListener('dragover', (ev) => { ev.preventDefault(); h.classList.add('drop'); });
    h.addEventListener('dragleave', () => h.classList.remove('drop'));
    h.addEventListener('drop', (ev) => {
      ev.preventDefault();
      h.classList.remove('drop');
      const from = dragKey ?? ev.dataTransfer?.getData('text/plain') ?? '';
      dragKey = null;
      moveColumn(from, key);
    });
    h.addEventListener('click', (ev) => {
      if ((ev.target as HTMLElement).classList.contains('grip')) return;
      // Ascending, descending, then frame order, as Wireshark cycles.
      if (state.sort?.col !== i) setSort({ col: i, desc: false });
      else if (!state.sort.desc) setSort({ col: i, desc: true });
      else setSort(null);
    });
    h.addEventListener('contextmenu', (ev) => { ev.preventDefault(); headerMenu(ev, i); });
    const grip = el('div', 'grip');
    grip.addEventListener('click', (ev) => ev.stopPropagation());
    grip.addEventListener('mousedown', (ev) => {
      ev.preventDefault();
      ev.stopPropagation();
      const x0 = ev.clientX;
      const w0 = state.widths[pos];
      const move = (e: MouseEvent) => {
        state.widths[pos] = Math.max(24, w0 + e.clientX - x0);
        state.widthByKey.set(key, state.widths[pos]);
        setColumns();
      };
      const up = () => { window.removeEventListener('mousemove', move); window.removeEventListener('mouseup', up); saveColumns(); };
      window.addEventListener('mousemove', move);
      window.addEventListener('mouseup', up);
    });
    h.appendChild(grip);
    head.appendChild(h);
  });
  setColumns();
}

/** Puts column `from` before column `to` (keys). */
function moveColumn(from: string, to: string) {
  if (!from || from === to || !state.order.includes(from)) return;
  const order = state.order.filter((k) => k !== from);
  order.splice(order.indexOf(to), 0, from);
  state.order = order;
  saveColumns();
  buildHeader();
  scheduleRender();
}

function setSort(sort: { col: number; desc: boolean } | null) {
  if (sort && liveRunning()) {
    message('Sorting needs the whole capture: stop the live capture first');
    return;
  }
  state.sort = sort;
  reorder();
}

function headerMenu(ev: MouseEvent, i: number) {
  const key = colKey(i);
  const cols = allColumns();
  const pos = state.order.indexOf(key);
  const n = state.profile!.columns.length;
  showMenu(ev.clientX, ev.clientY, [
    { label: 'Sort Ascending', action: () => setSort({ col: i, desc: false }) },
    { label: 'Sort Descending', action: () => setSort({ col: i, desc: true }) },
    { label: 'Remove Sorting', action: () => setSort(null) },
    { sep: true },
    { label: 'Move Left', action: () => { if (pos > 0) moveColumn(key, state.order[pos - 1]); } },
    { label: 'Move Right', action: () => { if (pos + 1 < state.order.length) moveColumn(state.order[pos + 1], key); } },
    { label: `Hide "${cols[i].title}"`, action: () => { state.order = state.order.filter((k) => k !== key); if (state.sort?.col === i) state.sort = null; reorder(); } },
    ...(i >= n ? [{ label: `Remove Column "${cols[i].title}"`, action: () => removeColumn(i) }] : []),
    { sep: true },
    { label: 'Displayed Columns', sub: cols.map((c, k) => ({
      label: c.title, checked: state.order.includes(colKey(k)),
      action: () => {
        const kk = colKey(k);
        if (state.order.includes(kk)) { state.order = state.order.filter((x) => x !== kk); if (state.sort?.col === k) state.sort = null; }
        else state.order.push(kk);
        reorder();
      },
    })) },
    { label: 'Reset Columns', action: () => {
      state.extra = [];
      state.order = state.profile!.columns.map((_, k) => `#${k}`);
      state.widthByKey.clear();
      state.sort = null;
      reorder();
    } },
  ]);
}

function applyAsColumn(field: string) {
  if (!state.extra.includes(field)) {
    state.extra.push(field);
    state.order.push(`f:${field}`);
  } else if (!state.order.includes(`f:${field}`)) {
    state.order.push(`f:${field}`);
  }
  reorder();
}

function removeColumn(i: number) {
  const n = state.profile!.columns.length;
  const key = colKey(i);
  const field = state.extra[i - n];
  // Keys of applied columns are their fields: removing one renumbers the others only.
  if (state.sort) {
    if (state.sort.col === i) state.sort = null;
    else if (state.sort.col > i) state.sort = { col: state.sort.col - 1, desc: state.sort.desc };
  }
  state.extra = state.extra.filter((f) => f !== field);
  state.order = state.order.filter((k) => k !== key);
  reorder();
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
    if (state.marked.has(row.number)) div.classList.add('marked');
    const cols = allColumns();
    for (const k of shownColumns()) {
      const c = cols[k];
      const text = c.field.startsWith('frame.time') && k < p.columns.length ? timeCell(row) : row.cells[k] ?? '';
      div.appendChild(el('div', c.right ? 'c r' : 'c', text));
    }
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
    const q = orderParams({ offset: String(c), limit: String(CHUNK) });
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
scroller.addEventListener('scroll', () => { head.scrollLeft = scroller.scrollLeft; noteUserScroll(); scheduleRender(); }, { passive: true });
window.addEventListener('resize', () => { setColumns(); scheduleRender(); followTail(); });

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
  const row = (ev.target as HTMLElement).closest<HTMLElement>('.row');
  if (!row || !row.dataset.number) return;
  void select(Number(row.dataset.number), Number(row.dataset.offset));
});
rowsEl.addEventListener('contextmenu', (ev) => {
  const div = (ev.target as HTMLElement).closest<HTMLElement>('.row');
  if (!div || !div.dataset.number) return;
  ev.preventDefault();
  const number = Number(div.dataset.number);
  const row = state.cache.get(Number(div.dataset.offset));
  if (state.selected !== number) void select(number, Number(div.dataset.offset));
  rowMenu(ev.clientX, ev.clientY, number, row ?? null);
});

function rowText(row: Row, how: 'text' | 'csv' | 'json'): string {
  const cols = allColumns();
  const shown = shownColumns();
  const cells = shown.map((k) => (cols[k].field.startsWith('frame.time') && k < state.profile!.columns.length ? timeCell(row) : row.cells[k] ?? ''));
  if (how === 'json') return JSON.stringify(Object.fromEntries(shown.map((k, j) => [cols[k].title, cells[j]])));
  if (how === 'csv') return cells.map((c) => `"${c.replace(/"/g, '""')}"`).join(',');
  return cells.join('\t');
}

function rowMenu(x: number, y: number, number: number, row: Row | null) {
  showMenu(x, y, [
    { label: state.marked.has(number) ? 'Unmark Frame' : 'Mark Frame', key: 'Ctrl+M', action: () => toggleMark(number) },
    { label: state.timeRef?.number === number ? 'Unset Time Reference' : 'Set Time Reference', key: 'Ctrl+T', action: () => toggleTimeRef(number, row) },
    { label: 'Next Marked Frame', key: 'Ctrl+Shift+N', action: () => nextMarked(1), disabled: state.marked.size === 0 },
    { label: 'Previous Marked Frame', key: 'Ctrl+Shift+B', action: () => nextMarked(-1), disabled: state.marked.size === 0 },
    { sep: true },
    { label: 'Copy', sub: row ? [
      { label: 'Summary as Text', action: () => copy(rowText(row, 'text')) },
      { label: 'Summary as CSV', action: () => copy(rowText(row, 'csv')) },
      { label: 'Summary as JSON', action: () => copy(rowText(row, 'json')) },
    ] : [] },
    { sep: true },
    { label: 'Export Specified Frames…', action: () => openExport() },
    ...extensionItems(app.rowMenu.map((f) => f(number, row))),
  ]);
}

/** The entries modules registered, after a separator (none when there are none). */
function extensionItems(groups: MenuItem[][]): MenuItem[] {
  const items = groups.flat();
  return items.length ? [{ sep: true }, ...items] : [];
}

// ---------- marks and time reference ----------
function toggleMark(number: number) {
  if (state.marked.has(number)) state.marked.delete(number); else state.marked.add(number);
  for (const f of app.onMark) f(number, state.marked.has(number));
  updateStatus();
  scheduleRender();
}
function toggleTimeRef(number: number, row: Row | null) {
  if (state.timeRef?.number === number) state.timeRef = null;
  else if (row) state.timeRef = { number, ts: BigInt(row.ts) };
  scheduleRender();
}
/** Goes to the next (or previous) marked frame the view shows. */
async function nextMarked(dir: 1 | -1) {
  const cur = state.selected ?? (dir === 1 ? 0 : Number.MAX_SAFE_INTEGER);
  const list = [...state.marked].sort((a, b) => a - b).filter((n) => (dir === 1 ? n > cur : n < cur));
  if (dir === -1) list.reverse();
  for (const n of list) {
    const { status, body } = await api<{ offset: number; number: number; exact: boolean }>(`/api/find?${orderParams({ frame: String(n) })}`);
    if (status === 200 && body.exact) { void selectOffset(body.offset); return; }
  }
  message(dir === 1 ? 'No next marked frame' : 'No previous marked frame');
}

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
  void selectOffset(Math.max(0, Math.min(state.total - 1, next)));
});

async function selectOffset(i: number) {
  state.selectedOffset = i;
  scrollToOffset(i);
  let row = state.cache.get(i);
  if (!row) {
    const gen = state.generation;
    const q = orderParams({ offset: String(i), limit: '1' });
    const { body } = await api<Window>(`/api/rows?${q}`);
    if (gen !== state.generation) return;
    row = body.rows[0];
    if (row) state.cache.set(i, row);
  }
  if (row) void select(row.number, i);
}

// ---------- detail and bytes ----------
const tree = $<HTMLDivElement>('tree');
const bytesView = $<HTMLDivElement>('bytes-view');

async function select(number: number, offset: number) {
  state.selected = number;
  state.selectedOffset = offset;
  state.selectedNode = null;
  scheduleRender();
  saveHash();
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
  for (const f of app.onSelect) f(body);
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
  const div = (ev.target as HTMLElement).closest<HTMLElement>('.node');
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

tree.addEventListener('contextmenu', (ev) => {
  const div = (ev.target as HTMLElement).closest<HTMLElement>('.node');
  const node = div && state.detail?.tree[Number(div.dataset.i)];
  if (!div || !node) return;
  ev.preventDefault();
  div.click();
  fieldMenu(ev.clientX, ev.clientY, node);
});

/** The filter bar's text combined with `sel` as Wireshark's Apply/Prepare as Filter do. */
function combine(how: string, sel: string): string {
  const cur = input.value.trim();
  const not = `!(${sel})`;
  switch (how) {
    case 'not': return not;
    case 'and': return cur ? `(${cur}) && (${sel})` : sel;
    case 'or': return cur ? `(${cur}) || (${sel})` : sel;
    case 'andnot': return cur ? `(${cur}) && ${not}` : not;
    case 'ornot': return cur ? `(${cur}) || ${not}` : not;
    default: return sel;
  }
}
const COMBINE: [string, string][] = [
  ['sel', 'Selected'], ['not', 'Not Selected'], ['and', '…and Selected'], ['or', '…or Selected'],
  ['andnot', '…and not Selected'], ['ornot', '…or not Selected'],
];

function fieldMenu(x: number, y: number, node: Node) {
  const filterable = node.field !== '' && node.filter !== '';
  showMenu(x, y, [
    { label: 'Expand Subtrees', action: () => { const d = tree.querySelector<HTMLElement>(`.node[data-i="${state.selectedNode}"]`); if (d) setOpenDeep(d, true); } },
    { label: 'Collapse Subtrees', action: () => { const d = tree.querySelector<HTMLElement>(`.node[data-i="${state.selectedNode}"]`); if (d) setOpenDeep(d, false); } },
    { sep: true },
    { label: 'Apply as Column', action: () => applyAsColumn(node.field), disabled: !node.field },
    { label: 'Apply as Filter', disabled: !filterable, sub: COMBINE.map(([how, label]) => ({ label, action: () => applyFilter(combine(how, node.filter)) })) },
    { label: 'Prepare as Filter', disabled: !filterable, sub: COMBINE.map(([how, label]) => ({ label, action: () => { input.value = combine(how, node.filter); input.focus(); void checkFilter(); } })) },
    { sep: true },
    { label: 'Copy', sub: [
      { label: 'Description', action: () => copy(node.text) },
      { label: 'Field Name', action: () => copy(node.field) },
      { label: 'Value', action: () => copy(node.value) },
      { label: 'As Filter', action: () => copy(node.filter) },
    ] },
    ...(state.detail ? extensionItems(app.fieldMenu.map((f) => f(node, state.detail!))) : []),
  ]);
}

function setOpenDeep(div: HTMLElement, open: boolean) {
  const depth = Number(div.dataset.depth);
  const nodes = [div];
  let sib = div.nextElementSibling as HTMLElement | null;
  while (sib && Number(sib.dataset.depth) > depth) { nodes.push(sib); sib = sib.nextElementSibling as HTMLElement | null; }
  for (const n of nodes) {
    const tw = n.querySelector('.tw');
    if (tw?.textContent) { n.classList.toggle('open', open); tw.textContent = open ? '▾' : '▸'; }
    if (n !== div) n.style.display = open ? '' : 'none';
  }
}

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
    wrap.classList.remove('ok', 'bad', 'warn');
    under.textContent = '';
    errorLine.textContent = '';
    return true;
  }
  type Problem = { message: string; position: number; length: number };
  const { status, body } = await api<{ ok?: boolean; warnings?: Problem[]; error?: Problem | string }>(
    `/api/check?filter=${encodeURIComponent(text)}`);
  if (seq !== checkSeq) return false;
  under.replaceChildren();
  if (status === 200) {
    const w = body.warnings?.[0];
    // Yellow: it works, but the form is deprecated (the first warning underlined and explained).
    wrap.classList.toggle('warn', !!w);
    wrap.classList.toggle('ok', !w);
    wrap.classList.remove('bad');
    errorLine.classList.toggle('warning', !!w);
    errorLine.textContent = '';
    if (w) {
      const s = byteToCharIndex(text, w.position);
      const t = byteToCharIndex(text, w.position + w.length);
      under.appendChild(document.createTextNode(text.slice(0, s)));
      under.appendChild(el('span', 'err', t > s ? text.slice(s, t) : ' '));
      errorLine.textContent = `${w.message} (column ${s + 1})`;
    }
    return true;
  }
  wrap.classList.add('bad'); wrap.classList.remove('ok', 'warn');
  errorLine.classList.remove('warning');
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
  suggest();
});
input.addEventListener('keydown', (ev) => {
  if (!completeEl.hidden) {
    const opts = [...completeEl.querySelectorAll<HTMLElement>('.opt')];
    const at = opts.findIndex((o) => o.classList.contains('act'));
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      const next = (at + (ev.key === 'ArrowDown' ? 1 : opts.length - 1)) % opts.length;
      opts.forEach((o, i) => o.classList.toggle('act', i === next));
      opts[next]?.scrollIntoView({ block: 'nearest' });
      return;
    }
    if ((ev.key === 'Tab' || ev.key === 'Enter') && at >= 0) {
      ev.preventDefault();
      accept(opts[at].dataset.value!);
      return;
    }
    if (ev.key === 'Escape') { completeEl.hidden = true; return; }
  }
  if (ev.key === 'Enter') { completeEl.hidden = true; void applyFilter(input.value); }
});
input.addEventListener('blur', () => window.setTimeout(() => { completeEl.hidden = true; }, 150));

// ---------- completion of field names (the registry's and the file's event arguments) ----------
const completeEl = $<HTMLDivElement>('complete');
/** The word being typed at the cursor: where it starts and its text. */
function wordAtCursor(): { start: number; word: string } {
  const pos = input.selectionStart ?? input.value.length;
  const before = input.value.slice(0, pos);
  // Inside a string literal: nothing to complete.
  if (((before.match(/"/g) ?? []).length - (before.match(/\\"/g) ?? []).length) % 2 === 1) return { start: pos, word: '' };
  const m = before.match(/(\$\{?)?[A-Za-z_][A-Za-z0-9_.-]*$/);
  return m ? { start: pos - m[0].length, word: m[0] } : { start: pos, word: '' };
}
function suggest() {
  const { word } = wordAtCursor();
  completeEl.replaceChildren();
  if (word.length < 2) { completeEl.hidden = true; return; }
  let opts: { value: string; note: string }[];
  if (word.startsWith('$')) {
    const w = word.replace(/^\$\{?/, '');
    opts = Object.keys(state.macros).filter((m) => m.startsWith(w)).map((m) => ({ value: `\${${m}}`, note: state.macros[m] }));
  } else {
    const starts = state.fields.filter((f) => f.field.startsWith(word));
    // The next level first: `tracee.` offers `tracee.args.` before every argument field.
    opts = starts.slice(0, 400).map((f) => ({ value: f.field, note: f.name }));
    if (opts.length === 0) opts = state.fields.filter((f) => f.field.includes(word)).slice(0, 50).map((f) => ({ value: f.field, note: f.name }));
  }
  opts = opts.filter((o) => o.value !== word).slice(0, 50);
  if (opts.length === 0) { completeEl.hidden = true; return; }
  opts.forEach((o, i) => {
    const d = el('div', i === 0 ? 'opt act' : 'opt');
    d.dataset.value = o.value;
    d.appendChild(document.createTextNode(o.value));
    d.appendChild(el('span', 'n', o.note.length > 60 ? o.note.slice(0, 60) + '…' : o.note));
    d.addEventListener('mousedown', (ev) => { ev.preventDefault(); accept(o.value); });
    completeEl.appendChild(d);
  });
  completeEl.hidden = false;
}
function accept(value: string) {
  const { start } = wordAtCursor();
  const pos = input.selectionStart ?? input.value.length;
  input.value = input.value.slice(0, start) + value + input.value.slice(pos);
  const at = start + value.length;
  input.setSelectionRange(at, at);
  completeEl.hidden = true;
  input.focus();
  void checkFilter();
}

// ---------- history and bookmarks ----------
const HISTORY_KEY = 'osprey.view.filters';
function history(): string[] {
  try {
    const h: unknown = JSON.parse(localStorage.getItem(HISTORY_KEY) ?? '[]');
    return Array.isArray(h) ? h.filter((x): x is string => typeof x === 'string') : [];
  } catch { return []; }
}
function remember(filter: string) {
  const h = [filter, ...history().filter((x) => x !== filter)].slice(0, 30);
  localStorage.setItem(HISTORY_KEY, JSON.stringify(h));
}
$('bookmarks').addEventListener('click', (ev) => {
  const r = (ev.currentTarget as HTMLElement).getBoundingClientRect();
  const p = state.profile!;
  const recent = history();
  showMenu(r.left, r.bottom, [
    { label: 'Bookmarks', sub: p.bookmarks.map((b) => ({ label: b.label, key: b.filter.length > 40 ? b.filter.slice(0, 40) + '…' : b.filter, action: () => applyFilter(b.filter) })) },
    { label: 'Macros', sub: Object.keys(state.macros).map((m) => ({ label: `\${${m}}`, action: () => applyFilter(`\${${m}}`) })) },
    { sep: true },
    ...(recent.length ? recent.map((f) => ({ label: f, action: () => applyFilter(f) })) : [{ label: 'No recent filters', disabled: true }]),
    { sep: true },
    { label: 'Clear Recent Filters', action: () => localStorage.removeItem(HISTORY_KEY), disabled: recent.length === 0 },
  ]);
});
$('apply').addEventListener('click', () => applyFilter(input.value));
$('clear').addEventListener('click', () => { input.value = ''; void checkFilter(); void applyFilter(''); });

function resetView(filter: string) {
  state.filter = filter;
  state.generation++;
  state.cache.clear();
  state.pending.clear();
  state.selectedOffset = null;
  scrollProgrammatically(0);
  saveHash();
}

/** Applies a filter; the selected frame stays selected when the new view shows it. */
async function applyFilter(text: string, keep: number | null = state.selected): Promise<boolean> {
  input.value = text;
  completeEl.hidden = true;
  if (!(await checkFilter())) return false;
  if (text.trim() === '') {
    resetView('');
    state.viewState = null;
    state.total = state.frames;
  } else {
    const { status, body } = await api<ViewState>('/api/views', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filter: text }),
    });
    if (status !== 200) return false;
    remember(text);
    resetView(text);
    state.viewState = body;
    state.total = body.matched;
  }
  updateStatus();
  scheduleRender();
  for (const f of app.onView) f(state.filter, state.total);
  if (keep !== null) await goToFrame(keep, false, true);
  return true;
}

/** Selects frame n in the current view (Go to frame); when it is not shown, the nearest
 * shown one, saying so unless `quiet`. `exactOnly` selects nothing then. */
async function goToFrame(n: number, say = true, exactOnly = false) {
  // A view still being computed may not have reached the frame yet.
  for (let tries = 0; ; tries++) {
    const gen = state.generation;
    const { status, body } = await api<{ offset: number; number: number; exact: boolean }>(`/api/find?${orderParams({ frame: String(n) })}`);
    if (gen !== state.generation) return;
    if (status === 200 && (body.exact || !state.filter || state.viewState?.done || tries > 100)) {
      if (!body.exact && exactOnly) return;
      if (!body.exact && say) message(`Frame ${n} is not displayed: went to frame ${body.number}`);
      await selectOffset(body.offset);
      return;
    }
    if (status !== 200 && (state.viewState?.done !== false || tries > 100)) {
      if (say) message(`Frame ${n} is not displayed`);
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------- deep links: the filter and the selected frame in the URL's hash ----------
let hashApplied = false;
function saveHash() {
  if (!hashApplied) return;
  const q = new URLSearchParams();
  if (state.filter) q.set('filter', state.filter);
  if (state.selected !== null) q.set('frame', String(state.selected));
  const h = q.toString();
  if (location.hash.slice(1) !== h) history_.replaceState(null, '', h ? `#${h}` : location.pathname + location.search);
}
const history_ = window.history;
async function loadHash() {
  const q = new URLSearchParams(location.hash.slice(1));
  const filter = q.get('filter') ?? '';
  const frame = Number(q.get('frame'));
  if (filter !== state.filter || filter !== input.value) await applyFilter(filter, null);
  if (Number.isInteger(frame) && frame >= 1) {
    // The index may still be growing toward it.
    for (let i = 0; i < 200 && !state.filter && frame > state.frames && !state.index?.done; i++) await new Promise((r) => setTimeout(r, 50));
    await goToFrame(frame);
  }
  hashApplied = true;
  saveHash();
}
window.addEventListener('hashchange', () => { hashApplied = false; void loadHash(); });

// ---------- Export Specified Frames ----------
const exportDialog = $<HTMLDialogElement>('export-dialog');
function openExport() {
  const radios = exportDialog.querySelectorAll<HTMLInputElement>('input[name="which"]');
  radios.forEach((r) => {
    if (r.value === 'displayed') r.disabled = !state.filter;
    if (r.value === 'marked' || r.value === 'firstlast') r.disabled = state.marked.size === 0;
    if (r.value === 'selected') r.disabled = state.selected === null;
  });
  $('export-count').textContent = `${state.frames} captured, ${state.total} displayed, ${state.marked.size} marked`;
  exportDialog.showModal();
}
$('export').addEventListener('click', openExport);
$('export-ok').addEventListener('click', async (ev) => {
  ev.preventDefault();
  const which = exportDialog.querySelector<HTMLInputElement>('input[name="which"]:checked')?.value ?? 'all';
  const format = $<HTMLSelectElement>('export-format').value;
  const body: Record<string, unknown> = { format, which, filter: state.filter || undefined };
  if (which === 'marked') { body.which = 'frames'; body.frames = [...state.marked]; }
  if (which === 'selected') { body.which = 'frames'; body.frames = state.selected === null ? [] : [state.selected]; }
  if (which === 'range') body.range = $<HTMLInputElement>('export-range').value;
  if (which === 'firstlast') {
    const m = [...state.marked];
    body.which = 'range';
    body.range = m.length ? `${Math.min(...m)}-${Math.max(...m)}` : '';
  }
  body.displayed_only = $<HTMLInputElement>('export-displayed').checked && !!state.filter;
  const r = await fetch('/api/export', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (r.status !== 200) {
    const e = await (r.json() as Promise<{ error?: unknown }>).catch(() => ({ error: r.statusText }));
    $('export-count').textContent = `Cannot export: ${String(e.error)}`;
    return;
  }
  const frames = r.headers.get('x-osprey-frames');
  const blob = await r.blob();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = format === 'json' ? 'osprey-export.json' : 'osprey-export.pcapng';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
  exportDialog.close();
  message(`Exported ${frames} frames`);
});
$('export-cancel').addEventListener('click', () => exportDialog.close());

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
  if (state.marked.size) s += ` · Marked: ${state.marked.size}`;
  left.textContent = s;
  left.dataset.marked = String(state.marked.size);
  left.dataset.displayed = String(state.total);
  left.dataset.complete = String(state.filter ? !!state.viewState?.done : !!idx?.done);
  if (idx && live.state) {
    right.textContent = liveStatusText(idx);
  } else if (idx) {
    const perFrame = idx.frames ? (idx.index_bytes / idx.frames).toFixed(1) : '0';
    const pct = idx.bytes_total ? Math.round((100 * idx.bytes_read) / idx.bytes_total) : null;
    right.textContent = idx.done
      ? `Indexed in ${idx.elapsed_ms} ms · ${perFrame} B/frame · Profile: ${state.profile?.name ?? ''}`
      : `Indexing… ${pct === null ? '' : pct + '%'} · Profile: ${state.profile?.name ?? ''}`;
  }
}

function onProgress(p: Progress) {
  const wasDone = !!state.index?.done;
  state.index = p.index;
  if (p.index.done && !wasDone) for (const f of app.onIndexDone) f();
  if (p.live) onLive(p.live);
  if (live.paused) {
    // The list keeps its rows; the status bar still shows the capture growing.
    live.stash = p;
    updateStatus();
    return;
  }
  const grew = p.index.frames !== state.frames;
  state.frames = p.index.frames;
  if (!state.filter) {
    if (state.total !== state.frames) { state.total = state.frames; scheduleRender(); followTail(); }
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
        followTail();
      }
    }
  }
  if (grew && state.firstTs === null) void loadFirstTs();
  updateStatus();
}

async function loadFirstTs() {
  const { body } = await api<{ first_ts: string | null }>('/api/status');
  if (body.first_ts !== null) { state.firstTs = BigInt(body.first_ts); scheduleRender(); }
}

// ---------- go to frame ----------
document.addEventListener('keydown', (ev) => {
  const inField = ev.target instanceof HTMLInputElement || ev.target instanceof HTMLSelectElement;
  const k = ev.key.toLowerCase();
  if (ev.ctrlKey && k === 'g') {
    ev.preventDefault();
    const n = Number(window.prompt('Go to frame:') ?? '');
    if (!Number.isInteger(n) || n < 1) return;
    void goToFrame(n);
  } else if (ev.ctrlKey && ev.key === '/') {
    ev.preventDefault();
    input.focus();
  } else if (ev.ctrlKey && ev.shiftKey && k === 'n') {
    ev.preventDefault();
    void nextMarked(1);
  } else if (ev.ctrlKey && ev.shiftKey && k === 'b') {
    ev.preventDefault();
    void nextMarked(-1);
  } else if (ev.ctrlKey && !ev.shiftKey && k === 'm' && !inField && state.selected !== null) {
    ev.preventDefault();
    toggleMark(state.selected);
  } else if (ev.ctrlKey && !ev.shiftKey && k === 't' && !inField && state.selected !== null) {
    ev.preventDefault();
    toggleTimeRef(state.selected, state.selectedOffset === null ? null : state.cache.get(state.selectedOffset) ?? null);
  }
});

$<HTMLSelectElement>('timefmt').addEventListener('change', (ev) => {
  state.timefmt = (ev.target as HTMLSelectElement).value;
  scheduleRender();
});
$<HTMLSelectElement>('precision').addEventListener('change', (ev) => {
  state.precision = Number((ev.target as HTMLSelectElement).value);
  scheduleRender();
});

// ---------- preferences of the profile (as `-o NAME=VALUE`) ----------
interface Prefs { pid_format: string; container_identifier: string; show_container_image: boolean }
const prefsDialog = $<HTMLDialogElement>('prefs-dialog');
$('prefs').addEventListener('click', async () => {
  const { status, body } = await api<Prefs>('/api/preferences');
  if (status !== 200) return;
  $<HTMLSelectElement>('pref-pid-format').value = body.pid_format;
  $<HTMLSelectElement>('pref-container-identifier').value = body.container_identifier;
  $<HTMLInputElement>('pref-show-container-image').checked = body.show_container_image;
  $('prefs-error').textContent = '';
  prefsDialog.showModal();
});
$('prefs-cancel').addEventListener('click', () => prefsDialog.close());
$('prefs-ok').addEventListener('click', async (ev) => {
  ev.preventDefault();
  const prefs: Prefs = {
    pid_format: $<HTMLSelectElement>('pref-pid-format').value,
    container_identifier: $<HTMLSelectElement>('pref-container-identifier').value,
    show_container_image: $<HTMLInputElement>('pref-show-container-image').checked,
  };
  const { status, body } = await api<{ error?: string }>('/api/preferences', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(prefs),
  });
  if (status !== 200) { $('prefs-error').textContent = String(body.error); return; }
  prefsDialog.close();
  // Rows, the filter's view (the server dropped it) and the detail are shown anew.
  const selected = state.selected;
  state.cache.clear();
  state.pending.clear();
  state.generation++;
  await applyFilter(state.filter, selected);
  if (selected !== null && state.selectedOffset !== null) await select(selected, state.selectedOffset);
  scheduleRender();
  message(`Preferences: PID format ${prefs.pid_format}, container ${prefs.container_identifier}${prefs.show_container_image ? ' with image' : ''}`);
});

// ---------- live captures (osprey view --live) ----------
const live = {
  state: null as LiveState | null,
  paused: false,                  // Pause display: the list keeps its rows, the capture goes on
  stash: null as Progress | null, // the latest progress while paused
  follow: true,                   // auto-scroll: the list shows its newest rows
  dialogShown: false,
  logNext: 0,
  logTimer: undefined as number | undefined,
};
// The scrollTop this page set last: the scroll event it causes is not the user's.
let ownScrollTop = -1;

/** True while the list grows at its end: a live capture, or a stream (`osprey view -` fed by
 * a pipe) still being read. */
function tailing(): boolean {
  return !!live.state || (!!state.index && !state.index.done && state.index.bytes_total === null);
}

function liveRunning(): boolean {
  return !!live.state && (live.state.phase === 'running' || live.state.phase === 'stopping' || live.state.phase === 'options');
}

function scrollProgrammatically(top: number) {
  if (scroller.scrollTop === top) return;
  scroller.scrollTop = top;
  ownScrollTop = scroller.scrollTop;
}

/** A scroll by the user turns auto-scroll off when it leaves the bottom, on when it reaches it. */
function noteUserScroll() {
  if (!tailing()) return;
  if (scroller.scrollTop === ownScrollTop) return;
  ownScrollTop = -1;
  const g = geometry();
  setFollow(g.top >= g.maxScroll - ROW_H / 2);
}

function setFollow(on: boolean) {
  if (live.follow === on) return;
  live.follow = on;
  const b = $<HTMLButtonElement>('live-follow');
  b.textContent = on ? 'Following' : 'Auto-scroll paused ⤓';
  b.dataset.follow = String(on);
}

/** Shows the newest rows, when following. */
function followTail() {
  if (!tailing() || !live.follow || live.paused) return;
  const g = geometry();
  spacer.style.height = `${g.height}px`;
  scrollProgrammatically(g.maxScroll);
  scheduleRender();
}

function liveStatusText(idx: IndexProgress): string {
  const st = live.state!;
  const what = { options: 'waiting for capture options', running: 'capturing', stopping: 'stopping', ended: 'stopped', failed: 'failed' }[st.phase];
  let s = `Live (${st.source}): ${what} · ${idx.frames.toLocaleString('en-US')} captured`;
  if (live.paused) s += ' · display paused';
  if (idx.error && st.phase !== 'running') s += ` · ${idx.error}`;
  return `${s} · Profile: ${state.profile?.name ?? ''}`;
}

function onLive(st: LiveState) {
  live.state = st;
  $('live-controls').hidden = false;
  const label = $<HTMLSpanElement>('live-state');
  label.dataset.phase = st.phase;
  // A capture that ended on its own with an error says where to look.
  const failedExit = st.phase === 'ended' && st.exit !== null && st.exit !== 0;
  label.textContent = st.phase === 'running' ? '● Live' : st.phase === 'failed' ? 'Capture failed (see Log)'
    : failedExit ? `Capture ended with exit status ${st.exit} (see Log)` : st.phase === 'ended' ? 'Stopped'
      : st.phase === 'stopping' ? 'Stopping…' : 'Not started';
  label.title = st.error ?? st.command.join(' ');
  const stop = $<HTMLButtonElement>('live-stop');
  stop.textContent = st.phase === 'options' ? 'Start…' : '■ Stop';
  stop.disabled = st.phase !== 'running' && st.phase !== 'options';
  const copyDir = $<HTMLButtonElement>('live-copy-dir');
  const outputDir = liveOutputDir(st);
  copyDir.disabled = !outputDir;
  copyDir.title = outputDir ? `Copy ${outputDir}` : 'This capture writes no output directory (no --capture option)';
  onLiveCopies(st);
  $<HTMLButtonElement>('live-download').disabled = !((st.phase === 'ended' || st.phase === 'failed') && state.index?.done);
  if (st.phase === 'options' && !live.dialogShown) openCaptureDialog();
}

/** The output directory's path: the local one, or for ssh:// the folder of the latest fetch. */
function liveOutputDir(st: LiveState): string | null {
  return st.output_dir ?? st.copies?.[st.copies.length - 1]?.path ?? null;
}

/** Fetch output (ssh:// only): the button, and a message when a copy ends. */
let liveCopiesSeen = -1;
function onLiveCopies(st: LiveState) {
  const fetchBtn = $<HTMLButtonElement>('live-fetch');
  fetchBtn.hidden = !st.source.startsWith('ssh://');
  fetchBtn.disabled = st.phase !== 'running' || st.copying;
  fetchBtn.textContent = st.copying ? 'Fetching…' : 'Fetch output';
  const n = st.copies?.length ?? 0;
  if (liveCopiesSeen >= 0 && n > liveCopiesSeen) {
    const c = st.copies[n - 1];
    message(`Output fetched to ${c.path} (${c.files} files, ${c.bytes.toLocaleString('en-US')} bytes${c.skipped ? `, ${c.skipped} skipped: see Log` : ''})`);
  } else if (liveCopiesSeen >= 0 && st.copy_error && !st.copying && fetchBtn.dataset.asked === 'true') {
    message(`Fetch output failed: ${st.copy_error}`);
  }
  if (!st.copying) fetchBtn.dataset.asked = 'false';
  liveCopiesSeen = n;
}

async function initLive() {
  const { status, body } = await api<{ state: LiveState; presets: { name: string; text: string }[] }>('/api/live');
  if (status !== 200) return;
  const select = $<HTMLSelectElement>('capture-preset');
  for (const p of body.presets) {
    const o = document.createElement('option');
    o.value = p.name;
    o.textContent = p.name;
    select.appendChild(o);
  }
  select.addEventListener('change', () => {
    $('capture-preset-text').textContent = body.presets.find((p) => p.name === select.value)?.text ?? '';
  });
  $('capture-source').textContent = `Source: ${body.state.source}`;
  onLive(body.state);
}

const captureDialog = $<HTMLDialogElement>('capture-dialog');
function openCaptureDialog() {
  live.dialogShown = true;
  $('capture-error').textContent = '';
  if (!captureDialog.open) captureDialog.showModal();
}
$('capture-start').addEventListener('click', async (ev) => {
  ev.preventDefault();
  const value = (id: string) => $<HTMLInputElement>(id).value;
  const options = {
    preset: value('capture-preset'), events: value('capture-events'), scope: value('capture-scope'),
    command: value('capture-command'), artifacts: value('capture-artifacts'), network: value('capture-network'),
  };
  const { status, body } = await api<LiveState & { error: string | null }>('/api/live/start', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(options),
  });
  if (status !== 200) { $('capture-error').textContent = String(body.error); return; }
  captureDialog.close();
  onLive(body);
});

$('live-stop').addEventListener('click', async () => {
  if (live.state?.phase === 'options') { openCaptureDialog(); return; }
  const { status, body } = await api<LiveState>('/api/live/stop', { method: 'POST' });
  if (status === 200) onLive(body);
});
$('live-pause').addEventListener('click', () => {
  live.paused = !live.paused;
  const b = $<HTMLButtonElement>('live-pause');
  b.setAttribute('aria-pressed', String(live.paused));
  b.textContent = live.paused ? 'Resume display' : 'Pause display';
  if (!live.paused && live.stash) { const p = live.stash; live.stash = null; onProgress(p); }
  updateStatus();
});
$('live-follow').addEventListener('click', () => { setFollow(true); followTail(); });
$('live-copy-dir').addEventListener('click', () => { const d = live.state && liveOutputDir(live.state); if (d) void copy(d); });
$('live-fetch').addEventListener('click', async () => {
  const { status, body } = await api<LiveState & { error: string | null }>('/api/live/copy-output', { method: 'POST' });
  if (status !== 200) { message(`Fetch output: ${body.error}`); return; }
  $<HTMLButtonElement>('live-fetch').dataset.asked = 'true';
  onLive(body);
});
$('live-download').addEventListener('click', async () => {
  const r = await fetch('/api/export', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ which: 'all', format: 'json' }) });
  if (r.status !== 200) { message('Cannot download the capture yet'); return; }
  const a = document.createElement('a');
  a.href = URL.createObjectURL(await r.blob());
  a.download = 'osprey-live.json';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
});

const logDialog = $<HTMLDialogElement>('log-dialog');
async function pollLog() {
  const { status, body } = await api<{ lines: string[]; next: number }>(`/api/live/log?from=${live.logNext}`);
  if (status !== 200) return;
  const pre = $<HTMLPreElement>('log-text');
  const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  for (const line of body.lines) pre.appendChild(document.createTextNode(line + '\n'));
  live.logNext = body.next;
  if (atEnd) pre.scrollTop = pre.scrollHeight;
}
$('live-log').addEventListener('click', () => {
  logDialog.showModal();
  void pollLog();
  live.logTimer = window.setInterval(pollLog, 1000);
});
logDialog.addEventListener('close', () => window.clearInterval(live.logTimer));

Object.assign(app, {
  applyFilter: (filter: string) => applyFilter(filter),
  goToFrame: (n: number) => goToFrame(n),
  currentFilter: () => state.filter,
  combineFilter: combine,
  selected: () => state.detail,
  refresh: () => { updateStatus(); scheduleRender(); },
});
$('analyze').addEventListener('click', (ev) => {
  const r = (ev.currentTarget as HTMLElement).getBoundingClientRect();
  showMenu(r.left, r.bottom, app.analyzeMenu.flatMap((f) => f()));
});

async function start() {
  const { body: profile } = await api<Profile>('/api/profile');
  state.profile = profile;
  loadColumns();
  buildHeader();
  const buttons = $<HTMLSpanElement>('buttons');
  for (const b of profile.buttons) {
    const btn = el('button', '', b.label);
    btn.title = b.filter;
    btn.addEventListener('click', () => applyFilter(b.filter));
    buttons.appendChild(btn);
  }
  await initLive();
  const { body: status } = await api<{ index: IndexProgress; first_ts: string | null }>('/api/status');
  state.firstTs = status.first_ts === null ? null : BigInt(status.first_ts);
  onProgress({ index: status.index, views: [] });
  const es = new EventSource('/api/events');
  es.addEventListener('progress', (e) => onProgress(JSON.parse(e.data as string) as Progress));
  scheduleRender();
  scroller.focus();
  await loadHash();
  // The field names for completion (the index pass adds the file's event arguments).
  const loadFields = async () => {
    const { body } = await api<{ fields: { field: string; name: string }[]; macros: Record<string, string> }>('/api/fields');
    state.fields = body.fields;
    state.macros = body.macros;
  };
  await loadFields();
  if (!state.index?.done) {
    // A live capture meets new events (and their arguments) as it runs: reloaded now and then.
    let ticks = 0;
    const again = window.setInterval(() => {
      ticks++;
      if (state.index?.done) { window.clearInterval(again); void loadFields(); } else if (live.state && ticks % 10 === 0) void loadFields();
    }, 500);
  }
}

void start();
