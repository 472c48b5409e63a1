// Statistics windows: one per `osprey read -z` view (Analyze ▸ Statistics), computed by the
// server's engine (`/api/stats`, the CLI's numbers), each with its own display filter, a
// progress line while the run computes, Copy/Save as CSV, JSON and text, sortable columns,
// collapsible rows, and every row a filter for the main list.
import { api, app, copy, download, el, message, openPanel, showMenu, type MenuItem, type Panel } from './core';
import { TreeTable, type TColumn, type TRow } from './treetable';

// ---------- the engine's runs ----------
export interface StatsState { id: number; views: string[]; filter: string; scanned: number; frames: number; partial: boolean; in_index_pass: boolean; done: boolean; cancelled: boolean; elapsed_ms: number; error: string | null }
/** One view's output: `result` is its `-T json` form (the shapes below), `text` its text. */
export interface ViewOutput { result: unknown; text: string }
/** A running run's progress line: a run the index pass computes ends with the pass (whose own
 * progress the status bar shows); any other, the share of the frames it has looked at. */
export const progressText = (s: StatsState) => s.in_index_pass
  ? ' Counting as the recording is indexed…'
  : ` Computing… ${s.frames ? Math.round((100 * s.scanned) / s.frames) : 0}%`;
/** Cancels a run a window no longer wants. */
export class Cancel { cancelled = false; id: number | null = null; cancel() { this.cancelled = true; if (this.id !== null) void fetch(`/api/stats/${this.id}`, { method: 'DELETE' }); } }

/** Runs `views` over the frames `filter` selects; `progress` sees the run's state while it
 * computes. Throws Error(message) on a bad view or filter, or when cancelled. */
export async function runStats(views: string[], filter: string, progress?: (s: StatsState) => void, cancel?: Cancel): Promise<ViewOutput[]> {
  for (let attempt = 0; ; attempt++) {
    const { status, body } = await api<StatsState>('/api/stats', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ views, filter }),
    });
    if (status !== 200) {
      const e = (body as unknown as { error?: string | { message: string } }).error;
      throw new Error(typeof e === 'string' ? e : e?.message ?? `error ${status}`);
    }
    if (cancel) cancel.id = body.id;
    let state: StatsState = body;
    for (;;) {
      if (cancel?.cancelled) throw new Error('cancelled');
      const r = await api<{ state: StatsState; results: ViewOutput[] | null }>(`/api/stats/${state.id}`);
      if (r.status !== 200) break; // no longer kept: ask again
      state = r.body.state;
      progress?.(state);
      if (r.body.results) { if (cancel) cancel.id = null; return r.body.results; }
      if (state.error) throw new Error(state.error);
      if (state.cancelled) break; // another window cancelled the run we shared: ask again
      await new Promise((res) => setTimeout(res, state.scanned ? 100 : 40));
    }
    if (attempt > 5) throw new Error('the run was cancelled');
  }
}

// ---------- filters built from rows ----------
export const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
export const and = (...fs: (string | undefined)[]) => {
  const parts = fs.filter((f): f is string => !!f && f.trim() !== '');
  if (parts.length <= 1) return parts[0] ?? '';
  return parts.map((f) => (/^[\w.]+ == ("[^"]*"|[\w.:]+)$/.test(f) ? f : `(${f})`)).join(' && ');
};
export const or = (fs: string[]) => fs.length <= 1 ? fs[0] ?? '' : fs.map((f) => `(${f})`).join(' || ');

export const MAX_FILTER = 16 * 1024;

// ---------- views → rows ----------
interface StatNode { name: string; count: number; own?: number; percent?: number; rate?: number; process?: Proc; filter?: string; children?: StatNode[] }
// The `-T json` results the windows show (`type` tells them apart).
interface StatsTreeResult { type: 'stats_tree'; first_column?: string; nodes: StatNode[] }
interface Conversation { address_a: string; port_a: number; address_b: string; port_b: number; frames_a_to_b: number; bytes_a_to_b: number; frames_b_to_a: number; bytes_b_to_a: number; rel_start_ns: number; duration_ns: number }
interface ConversationsResult { type: 'conversations'; layer: string; conversations: Conversation[] }
interface Endpoint { address: string; port: number; tx_frames: number; tx_bytes: number; rx_frames: number; rx_bytes: number }
interface EndpointsResult { type: 'endpoints'; layer: string; endpoints: Endpoint[] }
interface HierarchyNode { protocol: string; frames: number; bytes: number; children?: HierarchyNode[] }
interface HierarchyResult { type: 'protocol_hierarchy'; nodes: HierarchyNode[] }
export interface Exec { time: number; pathname: string; command_line?: string }
export interface Proc { host_pid: number; pid: number; start_time?: number; names: string[]; execs?: Exec[]; executable?: string; exit?: { time: number; code: number; signal: number }; seen: boolean; entity_id?: number; container?: string }

export const pct = (v: string | number) => typeof v === 'number' ? `${v.toFixed(2)}%` : v;
const fixed = (v: string | number) => typeof v === 'number' ? v.toFixed(4) : v;

/** A process's filter: its entity ID when the recording has them (exact across PID reuse), else
 * its host PID. */
export const procFilter = (p: Proc) => p.entity_id ? `tracee.processEntityId == ${p.entity_id}` : `tracee.hostProcessId == ${p.host_pid}`;

/** The filter of a node of a stats tree: `view` is the -z argument, `path` the nodes from the
 * top (containers included). A node the engine gave a filter (process-tree leaves, DNS
 * buckets) selects exactly what it counts, within the nearest process above it. */
function treeFilter(view: string, path: StatNode[]): string {
  const node = path[path.length - 1];
  const names = path.map((n) => n.name);
  if (node.filter) {
    const p = path.filter((n) => n.process).pop()?.process;
    return and(p ? procFilter(p) : '', node.filter);
  }
  const perContainer = /,container$/.test(view);
  const container = perContainer ? (names[0] === 'Host' ? 'tracee.container_col == ""' : `tracee.container_col == ${quote(names[0])}`) : '';
  const rest = perContainer ? path.slice(1) : path;
  if (view.startsWith('tracee,event_counts')) {
    if (rest.length === 0) return container;
    if (rest[0].name === 'Events') return and(container, rest.length > 1 ? `tracee.eventName == ${quote(node.name)}` : '');
    if (rest[0].name === 'Signatures') return and(container, rest.length > 2 ? `tracee.eventName == ${quote(node.name)}` : 'tracee.isSignature == 1');
    return container;
  }
  if (view.startsWith('tracee,file_types')) {
    const mw = 'tracee.eventName == "magic_write"';
    if (rest.length >= 2) return and(container, mw, `tracee.args.magic_write.pathname == ${quote(node.name)}`);
    if (rest.length === 1) return and(container, or((node.children ?? []).slice(0, 200).map((c) => `tracee.args.magic_write.pathname == ${quote(c.name)}`)));
    return and(container, mw);
  }
  if (view.startsWith('tracee,process_tree')) {
    const procs = path.filter((n) => n.process);
    const p = procs[procs.length - 1]?.process;
    if (!p) return container;
    return procFilter(p);
  }
  if (view === 'dns,tree') return dnsFilter(names);
  if (view === 'http,tree') return httpFilter(names);
  return '';
}

/** DNS tree nodes without a filter of their own: the totals and the statistics of values. */
function dnsFilter(names: string[]): string {
  if (names[0] === 'Response Stats') return 'dns.flags.response == 1';
  if (names[0] === 'Query Stats') return 'dns && !(dns.flags.response == 1)';
  return 'dns';
}

function httpFilter(names: string[]): string {
  const [, group, item, sub] = names;
  if (group === 'HTTP Request Packets') return item ? `http.request.method == ${quote(item)}` : 'http.request';
  if (group === 'HTTP Response Packets') {
    if (sub) { const c = parseInt(sub, 10); if (c) return `http.response.code == ${c}`; }
    if (item) { const d = parseInt(item, 10); if (d) return `http.response.code >= ${d * 100} && http.response.code < ${d * 100 + 100}`; }
    return 'http.response';
  }
  return 'http';
}

interface Shape { columns: TColumn[]; rows: TRow[]; openDepth: number }

function statsTree(view: string, r: StatsTreeResult): Shape {
  const hasOwn = JSON.stringify(r.nodes).includes('"own"');
  const columns: TColumn[] = [
    { title: r.first_column ?? 'Name' },
    { title: 'Count', numeric: true },
    ...(hasOwn ? [{ title: 'Own', numeric: true }] : []),
    { title: 'Percent', numeric: true, format: pct },
    { title: 'Rate (/s)', numeric: true, format: fixed, width: 90 },
  ];
  const conv = (n: StatNode, path: StatNode[]): TRow => {
    const p = [...path, n];
    const cells: (string | number)[] = [n.name, n.count];
    if (hasOwn) cells.push(n.own ?? '');
    cells.push(n.percent ?? '', n.rate ?? '');
    return { cells, filter: treeFilter(view, p), data: n.process, children: n.children?.map((c) => conv(c, p)) };
  };
  return { columns, rows: r.nodes.map((n) => conv(n, [])), openDepth: view.startsWith('tracee,process_tree') ? 4 : 3 };
}

function conversations(r: ConversationsResult): Shape {
  const ports = r.layer !== 'IPv4' && r.layer !== 'IPv6';
  const pf = r.layer === 'UDP' ? 'udp.port' : 'tcp.port';
  const columns: TColumn[] = [
    { title: 'Address A' }, ...(ports ? [{ title: 'Port A', numeric: true, width: 64 }] : []),
    { title: 'Address B', width: 140 }, ...(ports ? [{ title: 'Port B', numeric: true, width: 64 }] : []),
    { title: 'Frames', numeric: true, width: 64 }, { title: 'Bytes', numeric: true, width: 72 },
    { title: 'Frames A→B', numeric: true }, { title: 'Bytes A→B', numeric: true },
    { title: 'Frames B→A', numeric: true }, { title: 'Bytes B→A', numeric: true },
    { title: 'Rel Start', numeric: true, format: fixed }, { title: 'Duration', numeric: true, format: fixed },
  ];
  const rows = r.conversations.map((c) => ({
    cells: [c.address_a, ...(ports ? [c.port_a] : []), c.address_b, ...(ports ? [c.port_b] : []),
      c.frames_a_to_b + c.frames_b_to_a, c.bytes_a_to_b + c.bytes_b_to_a, c.frames_a_to_b, c.bytes_a_to_b,
      c.frames_b_to_a, c.bytes_b_to_a, c.rel_start_ns / 1e9, c.duration_ns / 1e9],
    filter: and(c.address_a === c.address_b ? `ip.addr == ${c.address_a}` : `ip.addr == ${c.address_a} && ip.addr == ${c.address_b}`,
      ports ? (c.port_a === c.port_b ? `${pf} == ${c.port_a}` : `${pf} == ${c.port_a} && ${pf} == ${c.port_b}`) : ''),
  }));
  return { columns, rows, openDepth: 1 };
}

function endpoints(r: EndpointsResult): Shape {
  const ports = r.layer !== 'IPv4' && r.layer !== 'IPv6';
  const pf = r.layer === 'UDP' ? 'udp.port' : 'tcp.port';
  const columns: TColumn[] = [
    { title: 'Address' }, ...(ports ? [{ title: 'Port', numeric: true, width: 64 }] : []),
    { title: 'Frames', numeric: true, width: 64 }, { title: 'Bytes', numeric: true, width: 72 },
    { title: 'Tx Frames', numeric: true }, { title: 'Tx Bytes', numeric: true },
    { title: 'Rx Frames', numeric: true }, { title: 'Rx Bytes', numeric: true },
  ];
  const rows = r.endpoints.map((e) => ({
    cells: [e.address, ...(ports ? [e.port] : []), e.tx_frames + e.rx_frames, e.tx_bytes + e.rx_bytes, e.tx_frames, e.tx_bytes, e.rx_frames, e.rx_bytes],
    filter: and(`ip.addr == ${e.address}`, ports ? `${pf} == ${e.port}` : ''),
  }));
  return { columns, rows, openDepth: 1 };
}

function hierarchy(r: HierarchyResult): Shape {
  const total = r.nodes.reduce((s, n) => s + n.frames, 0) || 1;
  const bytes = r.nodes.reduce((s, n) => s + n.bytes, 0) || 1;
  const columns: TColumn[] = [
    { title: 'Protocol' }, { title: 'Percent Frames', numeric: true, format: pct, width: 100 },
    { title: 'Frames', numeric: true }, { title: 'Percent Bytes', numeric: true, format: pct, width: 100 },
    { title: 'Bytes', numeric: true },
  ];
  const conv = (n: HierarchyNode, path: string[]): TRow => {
    const p = [...path, n.protocol];
    return {
      cells: [n.protocol, (100 * n.frames) / total, n.frames, (100 * n.bytes) / bytes, n.bytes],
      filter: p.length === 1 ? n.protocol : p.slice(1).join(' && '),
      children: n.children?.map((c) => conv(c, p)),
    };
  };
  return { columns, rows: r.nodes.map((n) => conv(n, [])), openDepth: 9 };
}

export function shape(view: string, result: unknown): Shape {
  switch ((result as { type?: string }).type) {
    case 'stats_tree': return statsTree(view, result as StatsTreeResult);
    case 'conversations': return conversations(result as ConversationsResult);
    case 'endpoints': return endpoints(result as EndpointsResult);
    case 'protocol_hierarchy': return hierarchy(result as HierarchyResult);
    default: return { columns: [{ title: 'Result' }], rows: [{ cells: [JSON.stringify(result)] }], openDepth: 1 };
  }
}

// ---------- the window ----------
/** A filter input checked with /api/check as it is typed (green/red), Enter applies. */
export function filterBox(initial: string, onApply: (f: string) => void): { box: HTMLSpanElement; input: HTMLInputElement } {
  const box = el('span', 'st-filter');
  const input = el('input', 'st-filter-input') as HTMLInputElement;
  input.type = 'text';
  input.spellcheck = false;
  input.placeholder = 'Display filter for this window…';
  input.value = initial;
  const apply = el('button', '', 'Apply');
  let seq = 0;
  const check = async () => {
    const my = ++seq;
    const t = input.value;
    if (!t.trim()) { input.classList.remove('ok', 'bad'); return true; }
    const { status } = await api(`/api/check?filter=${encodeURIComponent(t)}`);
    if (my !== seq) return false;
    input.classList.toggle('ok', status === 200);
    input.classList.toggle('bad', status !== 200);
    return status === 200;
  };
  input.addEventListener('input', () => void check());
  const go = async () => { if (await check()) onApply(input.value.trim()); else message('The window filter does not compile'); };
  input.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') void go(); });
  apply.addEventListener('click', () => void go());
  box.append(input, apply);
  void check();
  return { box, input };
}

export interface Tab { label: string; view: string }

/** Opens the statistics window of `tabs` (one view, or several as tabs). */
export function openStats(id: string, title: string, tabs: Tab[]): Panel {
  const panel = openPanel(`stats-${id}`, title);
  panel.root.classList.add('stats-window');
  let tab = tabs[0];
  let filter = app.currentFilter();
  let cancel: Cancel | null = null;
  let last: ViewOutput | null = null;
  const { box } = filterBox(filter, (f) => { filter = f; void load(); });
  const status = el('span', 'st-status');
  const actions = el('button', '', 'Copy / Save ▾');
  actions.addEventListener('click', (ev) => {
    const r = (ev.target as HTMLElement).getBoundingClientRect();
    const base = tab.view.replace(/[^\w.-]+/g, '_');
    const items: MenuItem[] = [
      { label: 'Copy as CSV', action: () => void copy(table.csv()) },
      { label: 'Copy as text', disabled: !last, action: () => last && void copy(last.text) },
      { sep: true },
      { label: 'Save as CSV…', action: () => download(`${base}.csv`, table.csv(), 'text/csv') },
      { label: 'Save as JSON…', disabled: !last, action: () => last && download(`${base}.json`, JSON.stringify(last.result, null, 2) + '\n', 'application/json') },
      { label: 'Save as text…', disabled: !last, action: () => last && download(`${base}.txt`, last.text) },
      { sep: true },
      { label: 'Expand all', action: () => table.setAllOpen(true) },
      { label: 'Collapse all', action: () => table.setAllOpen(false) },
    ];
    showMenu(r.left, r.bottom, items);
  });
  panel.bar.append(box, actions, status);
  if (tabs.length > 1) {
    const tb = el('div', 'st-tabs');
    for (const t of tabs) {
      const b = el('button', 'st-tab', t.label);
      b.dataset.view = t.view;
      if (t === tab) b.classList.add('on');
      b.addEventListener('click', () => {
        tab = t;
        tb.querySelectorAll('.st-tab').forEach((x) => x.classList.toggle('on', x === b));
        void load();
      });
      tb.appendChild(b);
    }
    panel.body.before(tb);
  }
  let table = new TreeTable([{ title: '' }]);
  panel.body.classList.add('st-body');
  panel.body.appendChild(table.root);

  const load = async () => {
    cancel?.cancel();
    const my = new Cancel();
    cancel = my;
    panel.root.dataset.state = 'running';
    status.replaceChildren(el('span', 'spinner'), document.createTextNode(' Computing…'));
    try {
      const [out] = await runStats([tab.view], filter, (s) => {
        if (my !== cancel) return;
        status.replaceChildren(el('span', 'spinner'), document.createTextNode(progressText(s)));
      }, my);
      if (my !== cancel) return;
      last = out;
      const s = shape(tab.view, out.result);
      const t = new TreeTable(s.columns);
      t.onActivate = (row) => activate(row);
      t.onContext = (row, ev) => showMenu(ev.clientX, ev.clientY, rowItems(row));
      t.setRows(s.rows, s.openDepth);
      table.root.replaceWith(t.root);
      table = t;
      if (s.columns.some((c) => c.title === 'Count')) t.sortBy(s.columns.findIndex((c) => c.title === 'Count'), true);
      status.textContent = `${filter ? 'Filter: ' + filter + ' · ' : ''}${(s.rows.length).toLocaleString('en-US')} top rows`;
      panel.root.dataset.state = 'done';
    } catch (e) {
      if (my !== cancel) return;
      status.textContent = (e as Error).message;
      panel.root.dataset.state = 'error';
    }
  };
  const rowFilter = (row: TRow) => row.filter ? and(row.filter, filter) : '';
  const activate = (row: TRow) => {
    const f = rowFilter(row);
    if (!f) { message('This row has no filter'); return; }
    void app.applyFilter(f);
  };
  const rowItems = (row: TRow): MenuItem[] => {
    const f = rowFilter(row);
    return [
      { label: 'Apply as Filter', disabled: !f, action: () => void app.applyFilter(f) },
      { label: 'Prepare as Filter', disabled: !f, sub: [['and', '…and Selected'], ['or', '…or Selected'], ['andnot', '…and not Selected']].map(([how, l]) => ({ label: l, action: () => void app.applyFilter(app.combineFilter(how, f)) })) },
      { label: 'Copy filter', disabled: !f, action: () => void copy(f) },
      { label: 'Copy row', action: () => void copy(row.cells.join('\t')) },
      ...extraRowItems.flatMap((x) => x(row)),
    ];
  };
  const close = panel.close;
  panel.close = () => { cancel?.cancel(); close(); };
  panel.root.querySelector('.panel-close')?.addEventListener('click', () => cancel?.cancel());
  void load();
  return panel;
}

/** Extra entries of a statistics row's menu (the process tree adds "Process page"). */
export const extraRowItems: ((row: TRow) => MenuItem[])[] = [];

// ---------- the Analyze menu ----------
const TREES: [string, string][] = [['', 'Standard'], ['opened_files', 'With Opened Files'], ['written_files', 'With Written Files'], ['network', 'With Network'], ['signatures', 'With Signatures']];
const kinds = (k: string) => ['ip', 'tcp', 'udp'].map((t) => ({ label: t.toUpperCase(), view: `${k},${t}` }));
interface StatsWindow { id: string; title: string; label: string; tabs: Tab[] }
const one = (id: string, title: string, view: string, label = title): StatsWindow => ({ id, title, label, tabs: [{ label: title, view }] });
const counts = [
  one('event-counts', 'Event Counts', 'tracee,event_counts'),
  one('event-counts-container', 'Event Counts per Container', 'tracee,event_counts,container'),
  one('file-types', 'File Types', 'tracee,file_types'),
];
const trees = TREES.flatMap(([v, t]) => [false, true].map((c) => {
  const view = ['tracee,process_tree', v, c ? 'container' : ''].filter(Boolean).join(',');
  return one(view.replace(/[^\w]+/g, '-'), `Process Tree: ${t}${c ? ' per Container' : ''}`, view, `${t}${c ? ' per Container' : ''}`);
}));
const network = [
  { id: 'conv', title: 'Conversations', label: 'Conversations', tabs: kinds('conv') },
  { id: 'endpoints', title: 'Endpoints', label: 'Endpoints', tabs: kinds('endpoints') },
  one('phs', 'Protocol Hierarchy', 'io,phs'),
  one('dns', 'DNS', 'dns,tree'),
  one('http', 'HTTP', 'http,tree'),
];
const entry = (w: StatsWindow): MenuItem => ({ label: w.label, action: () => openStats(w.id, w.title, w.tabs) });

app.analyzeMenu.push(() => [{
  label: 'Statistics', sub: [
    ...counts.map(entry),
    { label: 'Process Trees', sub: trees.map(entry) },
    { sep: true },
    ...network.map(entry),
  ],
}]);

// The server computes every window's view of a recording during its index pass, from the
// pass's own dissection (`WINDOW_VIEWS` in crates/view/src/stats.rs). Asking for them once the
// index is complete finds those runs; for a stream or a live capture, which the pass does not
// count for the windows, it computes them all in one pass (the cost is the pass, not the
// views). A window opened before either ends waits for it; windows with a display filter
// compute their own.
app.onIndexDone.push(() => {
  const runs = [...counts, ...trees, ...network].flatMap((w) => w.tabs.map((t) => [t.view]));
  void api('/api/stats/prepare', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ runs, filter: '' }) });
});
