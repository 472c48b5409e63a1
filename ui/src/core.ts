// What every part of the UI shares: the API's types, DOM helpers, the context menu, the status
// message, floating windows, and `app` — the main window's operations and the extension points
// through which the analysis windows (statistics, process tree, timeline, artifacts...) plug in
// without main.ts knowing them. Event data is only ever put in the page as text.

export interface Column { title: string; field: string; right: boolean; width: number }
export interface Color { name: string; filter: string; foreground: string; background: string }
export interface Named { label: string; filter: string }
export interface Profile { name: string; columns: Column[]; colors: Color[]; buttons: Named[]; bookmarks: Named[] }
export interface Row { number: number; ts: string; prev_shown_ts: string | null; color: number | null; cells: string[] }
export interface Window { total: number; complete: boolean; offset: number; rows: Row[] }
export interface Span { start: number; len: number; source: string }
export interface Node { depth: number; field: string; name: string; value: string; text: string; filter: string; generated: boolean; span: Span | null }
export interface Detail { number: number; kind: string; sources: { name: string; len: number }[]; tree: Node[] }
export interface IndexProgress { frames: number; done: boolean; bytes_read: number; bytes_total: number | null; index_bytes: number; elapsed_ms: number; error: string | null }
export interface ViewState { filter: string; matched: number; scanned: number; total: number; done: boolean; cancelled: boolean; elapsed_ms: number }
export interface LiveState { source: string; phase: 'options' | 'running' | 'stopping' | 'ended' | 'failed'; command: string[]; pid: number | null; exit: number | null; output_dir: string | null; error: string | null; log_lines: number; copies: { path: string; files: number; bytes: number; skipped: number }[]; copying: boolean; copy_error: string | null }
export interface Progress { index: IndexProgress; views: ViewState[]; live?: LiveState | null }

export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
export const el = (tag: string, cls?: string, text?: string) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

export async function api<T>(path: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const r = await fetch(path, init);
  const body = (await r.json()) as T;
  return { status: r.status, body };
}

// ---------- the context menu ----------
export interface MenuItem { label?: string; key?: string; action?: () => void; sub?: MenuItem[]; sep?: boolean; disabled?: boolean; checked?: boolean }
const menuEl = $<HTMLDivElement>('menu');
function menuItems(items: MenuItem[], into: HTMLElement) {
  for (const it of items) {
    if (it.sep) { into.appendChild(el('div', 'sep')); continue; }
    const d = el('div', 'mi');
    d.setAttribute('role', 'menuitem');
    if (it.checked !== undefined) d.appendChild(el('span', 'check', it.checked ? '✓' : ''));
    d.appendChild(document.createTextNode(it.label ?? ''));
    if (it.key) { const k = el('span', 'n', `  ${it.key}`); k.style.color = '#777'; d.appendChild(k); }
    d.dataset.label = it.label ?? '';
    if (it.disabled) { d.style.color = '#999'; into.appendChild(d); continue; }
    if (it.sub) {
      d.classList.add('has');
      const sub = el('div', 'submenu');
      menuItems(it.sub, sub);
      d.appendChild(sub);
      d.addEventListener('mouseenter', () => {
        into.querySelectorAll(':scope > .mi.open').forEach((o) => o.classList.remove('open'));
        d.classList.add('open');
      });
      d.addEventListener('click', (ev) => { if (ev.target === d) d.classList.add('open'); });
    } else {
      d.addEventListener('click', (ev) => { ev.stopPropagation(); hideMenu(); it.action?.(); });
    }
    into.appendChild(d);
  }
}
export function showMenu(x: number, y: number, items: MenuItem[]) {
  menuEl.replaceChildren();
  menuItems(items, menuEl);
  menuEl.hidden = false;
  const r = menuEl.getBoundingClientRect();
  menuEl.style.left = `${Math.max(0, Math.min(x, window.innerWidth - r.width - 4))}px`;
  menuEl.style.top = `${Math.max(0, Math.min(y, window.innerHeight - r.height - 4))}px`;
}
export function hideMenu() { menuEl.hidden = true; }
document.addEventListener('mousedown', (ev) => { if (!menuEl.hidden && !menuEl.contains(ev.target as globalThis.Node)) hideMenu(); });
document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') hideMenu(); });

// ---------- status message and clipboard ----------
let messageTimer: number | undefined;
export function message(text: string) {
  const m = $<HTMLSpanElement>('status-msg');
  m.textContent = text;
  window.clearTimeout(messageTimer);
  messageTimer = window.setTimeout(() => { m.textContent = ''; }, 6000);
}

export async function copy(text: string) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const t = document.createElement('textarea');
    t.value = text;
    document.body.appendChild(t);
    t.select();
    document.execCommand('copy');
    t.remove();
  }
  message(`Copied: ${text.length > 80 ? text.slice(0, 80) + '…' : text}`);
}

/** Offers `text` as a file named `name` (the anchor in the page while clicked, the URL kept a
 * minute: a detached anchor or an early revoke can lose the download). */
export function download(name: string, text: string, type = 'text/plain') {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

// ---------- floating windows (Statistics windows, I/O graph, artifacts...) ----------
export interface Panel { root: HTMLDivElement; body: HTMLDivElement; bar: HTMLDivElement; close: () => void }
let panelZ = 30;
let panelCount = 0;
/** Opens a movable, resizable, non-modal window titled `title`; `id` (a CSS-safe name) lets
 * tests find it and reopening the same id brings the existing one to the front. */
export function openPanel(id: string, title: string): Panel {
  const existing = document.getElementById(`panel-${id}`) as HTMLDivElement | null;
  if (existing) existing.remove();
  const root = el('div', 'panel') as HTMLDivElement;
  root.id = `panel-${id}`;
  root.setAttribute('role', 'dialog');
  root.setAttribute('aria-label', title);
  const offset = 24 * (panelCount++ % 8);
  root.style.left = `${80 + offset}px`;
  root.style.top = `${70 + offset}px`;
  root.style.zIndex = String(++panelZ);
  const head = el('div', 'panel-head');
  head.appendChild(el('span', 'panel-title', title));
  const x = el('button', 'panel-close', '✕');
  x.title = 'Close';
  head.appendChild(x);
  const bar = el('div', 'panel-bar') as HTMLDivElement;
  const body = el('div', 'panel-body') as HTMLDivElement;
  root.append(head, bar, body);
  document.body.appendChild(root);
  const close = () => root.remove();
  x.addEventListener('click', close);
  root.addEventListener('mousedown', () => { root.style.zIndex = String(++panelZ); });
  head.addEventListener('mousedown', (ev) => {
    if (ev.target === x) return;
    const sx = ev.clientX - root.offsetLeft, sy = ev.clientY - root.offsetTop;
    const move = (e: MouseEvent) => {
      root.style.left = `${Math.max(0, e.clientX - sx)}px`;
      root.style.top = `${Math.max(0, e.clientY - sy)}px`;
    };
    const up = () => { document.removeEventListener('mousemove', move); document.removeEventListener('mouseup', up); };
    document.addEventListener('mousemove', move);
    document.addEventListener('mouseup', up);
    ev.preventDefault();
  });
  return { root, body, bar, close };
}

// ---------- the main window's operations and extension points ----------
/** What the main window offers the other windows; main.ts fills the operations in at start,
 * and modules register their menu entries and listeners here. */
export const app = {
  /** Applies a display filter to the packet list (false when it does not compile). */
  applyFilter: (_filter: string): Promise<boolean> => Promise.resolve(false),
  /** Selects frame `n` in the list (the nearest shown one when the view hides it). */
  goToFrame: async (_n: number): Promise<void> => {},
  /** The applied display filter ('' for every frame). */
  currentFilter: (): string => '',
  /** The filter bar's text combined with `sel` as Prepare as Filter does (`how`: sel, not,
   * and, or, andnot, ornot). */
  combineFilter: (_how: string, sel: string): string => sel,
  /** The selected frame's number and detail, if any. */
  selected: (): Detail | null => null,
  /** Entries of the toolbar's Analyze menu. */
  analyzeMenu: [] as (() => MenuItem[])[],
  /** Extra entries of a detail-tree field's context menu. */
  fieldMenu: [] as ((node: Node, detail: Detail) => MenuItem[])[],
  /** Extra entries of a list row's context menu. */
  rowMenu: [] as ((number: number, row: Row | null) => MenuItem[])[],
  /** Called when a frame's detail has been loaded (after the tree is drawn). */
  onSelect: [] as ((detail: Detail) => void)[],
  /** Called once the index pass is complete (a file read to its end, a live capture stopped). */
  onIndexDone: [] as (() => void)[],
  /** Called when the list's view changes (a new filter, or the index growing). */
  onView: [] as ((filter: string, total: number) => void)[],
  /** The marked frames (Ctrl+M), shared with main.ts; a module changing it calls `refresh`. */
  marked: new Set<number>(),
  /** Called after frame `number` is marked or unmarked in the main window. */
  onMark: [] as ((number: number, marked: boolean) => void)[],
  /** Redraws the list and the status bar (after `marked` changed). */
  refresh: (): void => {},
};
