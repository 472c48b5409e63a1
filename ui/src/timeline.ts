// The timeline strip above the packet list (events per interval of the current view, stacked by
// event group — `-z tracee,timeline` — or by signature severity — `-z io,stat` with one column per
// severity), brushed to filter the list to a time range, clicked to go to an interval's first
// frame; and the I/O graph window (Analyze menu): display filters as lines over `-z io,stat`.
// Every number comes from `/api/stats`, i.e. the engine of `osprey read -z`.

import { el, api, app, message, openPanel, type Window as Rows } from './core';

const SVG = 'http://www.w3.org/2000/svg';
const svg = (tag: string, attrs: Record<string, string | number> = {}) => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------- /api/stats and /api/views helpers (shared by the windows of this module) ----------

/** A view's result as `-T json` (its shape is the view's: the callers say which). */
type ViewResult = unknown;
/** The bodies of /api/stats (a run's state, an error) and /api/stats/ID (state, results). */
interface StatsBody { id: number; error?: string | { message?: string } }
interface StatsRun { state: { error: string | null; cancelled: boolean }; results: { result: ViewResult }[] | null }
/** `-z tracee,timeline,…` and `-z io,stat,…` as `-T json`. */
interface TimelineResult { duration_us: number; groups: { name: string; counts: number[] }[] }
interface IoStatResult { starts_us: number[]; columns: { cells: { frames: number }[] }[] }

/** Runs `-z` views over the view of `filter` and waits for their results (`-T json`'s); null
 * when they cannot be had (a bad view or filter, said in the status bar; no server). */
export async function runStats(views: string[], filter: string): Promise<ViewResult[] | null> {
  try { return await runStatsOrThrow(views, filter); } catch { return null; }
}
async function runStatsOrThrow(views: string[], filter: string): Promise<ViewResult[] | null> {
  const { status, body } = await api<StatsBody | null>('/api/stats', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ views, filter }),
  });
  if (status !== 200) {
    const e = body?.error;
    message(`Statistics: ${typeof e === 'string' ? e : e?.message ?? status}`);
    return null;
  }
  const { id } = body as StatsBody;
  for (let wait = 30; ; wait = Math.min(500, wait * 2)) {
    const r = await api<StatsRun>(`/api/stats/${id}`);
    if (r.status !== 200) return null;
    if (r.body.state.error) { message(`Statistics: ${r.body.state.error}`); return null; }
    if (r.body.results) return r.body.results.map((x) => x.result);
    if (r.body.state.cancelled) return null;
    await sleep(wait);
  }
}

/** The first frame of the view of `filter` (made and waited for), or null when it is empty. */
export async function firstFrameOf(filter: string): Promise<number | null> {
  try { return await firstFrameOrThrow(filter); } catch { return null; }
}
async function firstFrameOrThrow(filter: string): Promise<number | null> {
  const { status } = await api<unknown>('/api/views', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filter }),
  });
  if (status !== 200) return null;
  for (let wait = 20; ; wait = Math.min(400, wait * 2)) {
    const v = await api<{ done: boolean; cancelled: boolean }>(`/api/views?filter=${encodeURIComponent(filter)}`);
    if (v.status !== 200) return null;
    if (v.body.done || v.body.cancelled) break;
    // the first frame is known as soon as one matched before the scan went further
    await sleep(wait);
  }
  const r = await api<Rows>(`/api/rows?offset=0&limit=1&filter=${encodeURIComponent(filter)}`);
  return r.status === 200 && r.body.rows.length ? r.body.rows[0].number : null;
}

/** `a && b`, either possibly empty. */
export function and(a: string, b: string): string {
  if (!a.trim()) return b;
  if (!b.trim()) return a;
  return `(${a}) && (${b})`;
}

// ---------- intervals and time ranges ----------

/** An interval in µs of the form 1, 2 or 5 × 10^k giving at most `bars` bars over `spanUs`. */
export function niceInterval(spanUs: number, bars = 200): number {
  const want = Math.max(1, spanUs / bars);
  for (let p = 1; ; p *= 10) {
    for (const m of [1, 2, 5]) if (m * p >= want) return m * p;
  }
}
/** µs as seconds, written exactly (`-z` intervals and filter values). */
export function seconds(us: number): string {
  const s = Math.floor(us / 1e6);
  const frac = us % 1e6;
  return frac === 0 ? String(s) : `${s}.${String(frac).padStart(6, '0').replace(/0+$/, '')}`;
}
/** The filter of frames in [aUs, bUs) after the first frame. */
export function rangeFilter(aUs: number, bUs: number): string {
  return `frame.time_relative >= ${seconds(aUs)} && frame.time_relative < ${seconds(bUs)}`;
}
const fmtTime = (us: number) => {
  const s = us / 1e6;
  if (s >= 86400) return `${(s / 86400).toFixed(1)} d`;
  if (s >= 3600) return `${(s / 3600).toFixed(1)} h`;
  if (s >= 60) return `${(s / 60).toFixed(1)} min`;
  if (s >= 1) return `${s.toFixed(s >= 10 ? 0 : 1)} s`;
  if (s >= 0.001) return `${(s * 1000).toFixed(s >= 0.01 ? 0 : 1)} ms`;
  return `${Math.round(s * 1e6)} µs`;
};

/** The recording's span in µs (every frame's, whatever the filter). */
async function recordingSpan(): Promise<number | null> {
  const r = await runStats(['tracee,timeline,0'], '');
  return r ? (r[0] as TimelineResult).duration_us : null;
}

// ---------- the strip ----------

const GROUP_COLORS: Record<string, string> = {
  Process: '#4e79a7', File: '#59a14f', Network: '#f28e2b', Signatures: '#e15759',
  'Other events': '#bab0ac', Packets: '#76b7b2', Artifacts: '#b07aa1',
};
const SEVERITIES = ['Severity 0', 'Severity 1', 'Severity 2', 'Severity 3', 'Severity 4'];
const SEV_COLORS = ['#9ecae1', '#fdd0a2', '#fd8d3c', '#e6550d', '#a50f15', '#d0d0d0'];
const SIG = 'tracee.isSignature == 1';
const sevColumns = () => [
  ...SEVERITIES.map((_, i) => `${SIG} && tracee.metadata.Properties.Severity == ${i}`),
  `!(${SIG})`,
];

interface Series { name: string; color: string; counts: number[] }
interface Histogram { intervalUs: number; spanUs: number; series: Series[] }

const strip = {
  root: null as HTMLDivElement | null,
  mode: 'group' as 'group' | 'severity',
  base: '', // the filter the histogram counts (the list's, without the brushed range)
  applied: null as string | null, // the filter the brush applied
  sel: null as [number, number] | null, // brushed range, µs
  data: null as Histogram | null,
  seq: 0,
  timer: 0,
  busy: false,
  cost: 0, // ms the last refresh took
  last: 0, // when it ended
};

/** Computes the histogram of the view of `filter`. */
async function histogram(filter: string, mode: 'group' | 'severity'): Promise<Histogram | null> {
  const spanUs = await recordingSpan();
  if (spanUs === null) return null;
  const iv = niceInterval(spanUs);
  if (mode === 'group') {
    const r = await runStats([`tracee,timeline,${seconds(iv)}`], filter);
    if (!r) return null;
    return {
      intervalUs: iv, spanUs,
      series: (r[0] as TimelineResult).groups.map((g) => ({ name: g.name, color: GROUP_COLORS[g.name] ?? '#888', counts: g.counts })),
    };
  }
  const r = await runStats([`io,stat,${seconds(iv)},${sevColumns().join(',')}`], filter);
  if (!r) return null;
  const names = [...SEVERITIES, 'Not a signature'];
  return {
    intervalUs: iv, spanUs,
    series: (r[0] as IoStatResult).columns.map((c, i) => ({ name: names[i], color: SEV_COLORS[i], counts: c.cells.map((x) => x.frames) }))
      .filter((s) => s.counts.some((n) => n > 0)),
  };
}

async function refresh() {
  const seq = ++strip.seq;
  const t0 = performance.now();
  strip.busy = true;
  // a server gone or refusing (no token) answers no JSON: no histogram
  const h = await histogram(strip.base, strip.mode).catch(() => null).finally(() => { strip.busy = false; });
  strip.cost = performance.now() - t0;
  strip.last = performance.now();
  if (seq !== strip.seq || !h) return;
  strip.data = h;
  draw();
}

function bins(h: Histogram) { return Math.max(1, Math.floor(h.spanUs / h.intervalUs) + 1); }

function draw() {
  const root = strip.root;
  const h = strip.data;
  if (!root || !h) return;
  const area = root.querySelector<HTMLDivElement>('.tl-chart')!;
  const W = Math.max(200, area.clientWidth), H = 56;
  const n = bins(h);
  const bw = W / n;
  const totals = Array.from({ length: n }, (_, i) => h.series.reduce((s, x) => s + (x.counts[i] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const chart = svg('svg', { width: W, height: H + 14, class: 'tl-svg' });
  chart.appendChild(svg('rect', { x: 0, y: 0, width: W, height: H, fill: '#fbfbfb' }));
  for (let i = 0; i < n; i++) {
    if (!totals[i]) continue;
    const g = svg('g', { class: 'tl-bar', 'data-i': i, 'data-count': totals[i] });
    let y = H;
    for (const s of h.series) {
      const c = s.counts[i] ?? 0;
      if (!c) continue;
      const hh = (c / max) * (H - 2);
      g.appendChild(svg('rect', { x: i * bw, y: y - hh, width: Math.max(1, bw - (bw > 3 ? 1 : 0)), height: hh, fill: s.color }));
      y -= hh;
    }
    const t = svg('title');
    const a = i * h.intervalUs;
    t.textContent = `${seconds(a)} – ${seconds(a + h.intervalUs)} s: ${totals[i]}\n`
      + h.series.filter((s) => s.counts[i]).map((s) => `${s.name}: ${s.counts[i]}`).join('\n');
    g.appendChild(t);
    chart.appendChild(g);
  }
  if (strip.sel) {
    const [a, b] = strip.sel;
    chart.appendChild(svg('rect', { class: 'tl-sel', x: (a / h.intervalUs) * bw, y: 0, width: ((b - a) / h.intervalUs) * bw, height: H, fill: 'rgba(29,79,145,.18)', stroke: '#1d4f91' }));
  }
  for (let k = 0; k <= 4; k++) {
    const x = (k / 4) * W;
    const lab = svg('text', { x: Math.min(W - 2, Math.max(2, x)), y: H + 11, 'font-size': 10, fill: '#555', 'text-anchor': k === 0 ? 'start' : k === 4 ? 'end' : 'middle' });
    lab.textContent = fmtTime((k / 4) * n * h.intervalUs);
    chart.appendChild(lab);
  }
  area.replaceChildren(chart);
  const info = root.querySelector<HTMLSpanElement>('.tl-info')!;
  const total = totals.reduce((a, b) => a + b, 0);
  info.textContent = `${total.toLocaleString('en-US')} frames · ${n} bars of ${fmtTime(h.intervalUs)}`
    + (strip.sel ? ` · range ${seconds(strip.sel[0])}–${seconds(strip.sel[1])} s` : '');
  const legend = root.querySelector<HTMLSpanElement>('.tl-legend')!;
  legend.replaceChildren(...h.series.map((s) => {
    const k = el('span', 'tl-key', s.name);
    k.style.setProperty('--c', s.color);
    return k;
  }));
  (root.querySelector('.tl-clear') as HTMLButtonElement).hidden = !strip.sel;
  root.dataset.bars = String(n);
  root.dataset.total = String(total);
  root.dataset.intervalUs = String(h.intervalUs);
}

/** Filters the list to bars [i0, i1] (inclusive) of the base view. */
async function selectRange(i0: number, i1: number) {
  const h = strip.data!;
  const a = i0 * h.intervalUs, b = (i1 + 1) * h.intervalUs;
  strip.sel = [a, b];
  const f = and(strip.base, rangeFilter(a, b));
  strip.applied = f;
  draw();
  if (!(await app.applyFilter(f))) { strip.sel = null; strip.applied = null; draw(); }
}

async function clickBar(i: number) {
  const h = strip.data!;
  const f = and(strip.base, rangeFilter(i * h.intervalUs, (i + 1) * h.intervalUs));
  const n = await firstFrameOf(f);
  if (n === null) { message('No frame in this interval'); return; }
  await app.goToFrame(n);
}

function initStrip() {
  const root = document.getElementById('timeline') as HTMLDivElement | null;
  if (!root) return;
  strip.root = root;
  const bar = el('div', 'tl-bar-top');
  bar.appendChild(el('span', 'tl-title', 'Timeline'));
  const mode = document.createElement('select');
  mode.className = 'tl-mode';
  mode.title = 'Stack the bars by event group or by signature severity';
  for (const [v, t] of [['group', 'by event group'], ['severity', 'by signature severity']]) {
    const o = document.createElement('option');
    o.value = v; o.textContent = t;
    mode.appendChild(o);
  }
  mode.addEventListener('change', () => { strip.mode = mode.value as 'group' | 'severity'; void refresh(); });
  const clear = el('button', 'tl-clear', 'Clear range') as HTMLButtonElement;
  clear.hidden = true;
  clear.addEventListener('click', () => { strip.sel = null; strip.applied = null; void app.applyFilter(strip.base); });
  const hide = el('button', 'tl-hide', '▾') as HTMLButtonElement;
  hide.title = 'Hide or show the timeline';
  hide.addEventListener('click', () => { root.classList.toggle('collapsed'); hide.textContent = root.classList.contains('collapsed') ? '▸' : '▾'; if (!root.classList.contains('collapsed')) draw(); });
  bar.append(hide, mode, el('span', 'tl-legend'), el('span', 'tl-info'), clear);
  const chart = el('div', 'tl-chart');
  root.append(bar, chart);

  // brush: press, drag, release; a press without a drag is a click on a bar
  chart.addEventListener('mousedown', (ev) => {
    const h = strip.data;
    if (!h || ev.button !== 0) return;
    ev.preventDefault();
    const r = chart.getBoundingClientRect();
    const n = bins(h);
    const at = (x: number) => Math.max(0, Math.min(n - 1, Math.floor(((x - r.left) / r.width) * n)));
    const x0 = ev.clientX;
    const i0 = at(x0);
    const overlay = el('div', 'tl-brush');
    chart.appendChild(overlay);
    const move = (e: MouseEvent) => {
      const a = Math.min(x0, e.clientX) - r.left, b = Math.max(x0, e.clientX) - r.left;
      overlay.style.left = `${Math.max(0, a)}px`;
      overlay.style.width = `${Math.min(r.width, b) - Math.max(0, a)}px`;
    };
    const up = (e: MouseEvent) => {
      document.removeEventListener('mousemove', move);
      document.removeEventListener('mouseup', up);
      overlay.remove();
      if (Math.abs(e.clientX - x0) < 4) void clickBar(i0);
      else { const i1 = at(e.clientX); void selectRange(Math.min(i0, i1), Math.max(i0, i1)); }
    };
    document.addEventListener('mousemove', move);
    document.addEventListener('mouseup', up);
  });
  window.addEventListener('resize', () => draw());

  app.onView.push((filter) => {
    if (strip.applied !== null && filter === strip.applied) return; // our own range
    const grew = filter === strip.base && strip.data !== null;
    strip.base = filter;
    strip.sel = null;
    strip.applied = null;
    if (!grew) void refresh();
    else draw();
  });
  // a growing live capture: redraw now and then — every 2 s, or less often when a redraw takes
  // long (at most a fifth of the time spent counting)
  strip.timer = window.setInterval(async () => {
    if (strip.busy || performance.now() - strip.last < 4 * strip.cost) return;
    const s = await api<{ index?: { done: boolean } | null }>('/api/status').catch(() => null);
    if (s?.status === 200 && s.body.index && !s.body.index.done) void refresh();
    else if (s?.status === 200 && s.body.index?.done && root.dataset.final !== '1') { root.dataset.final = '1'; void refresh(); }
  }, 2000);
  void refresh();
}

// ---------- the I/O graph ----------

interface Line { filter: string; color: string; style: 'line' | 'bar' | 'dot'; on: boolean }
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2'];

function openIoGraph() {
  const p = openPanel('iograph', 'I/O Graph');
  const lines: Line[] = [
    { filter: '', color: PALETTE[0], style: 'line', on: true },
    { filter: 'tracee.eventName contains "net"', color: PALETTE[1], style: 'line', on: true },
  ];
  const ivSel = document.createElement('select');
  ivSel.className = 'io-interval';
  for (const [v, t] of [['auto', 'Interval: auto'], ['1', '1 µs'], ['10', '10 µs'], ['100', '100 µs'], ['1000', '1 ms'], ['10000', '10 ms'], ['100000', '100 ms'], ['1000000', '1 s'], ['10000000', '10 s'], ['60000000', '1 min'], ['600000000', '10 min'], ['3600000000', '1 h'], ['86400000000', '1 d']]) {
    const o = document.createElement('option');
    o.value = v; o.textContent = t;
    ivSel.appendChild(o);
  }
  const add = el('button', 'io-add', '+ Line');
  const redraw = el('button', 'io-draw', 'Draw');
  const hover = el('span', 'io-hover');
  p.bar.append(ivSel, add, redraw, hover);
  const table = el('div', 'io-lines');
  const graph = el('div', 'io-graph');
  p.body.append(table, graph);

  const drawLines = () => {
    table.replaceChildren();
    lines.forEach((l, k) => {
      const row = el('div', 'io-line');
      row.dataset.k = String(k);
      const on = document.createElement('input');
      on.type = 'checkbox'; on.checked = l.on; on.title = 'Show this line';
      on.addEventListener('change', () => { l.on = on.checked; void compute(); });
      const f = document.createElement('input');
      f.type = 'text'; f.className = 'io-filter'; f.value = l.filter; f.placeholder = '(every frame)'; f.spellcheck = false;
      f.addEventListener('change', () => { l.filter = f.value; void compute(); });
      const c = document.createElement('input');
      c.type = 'color'; c.value = l.color;
      c.addEventListener('change', () => { l.color = c.value; void compute(); });
      const st = document.createElement('select');
      for (const s of ['line', 'bar', 'dot']) { const o = document.createElement('option'); o.value = s; o.textContent = s; st.appendChild(o); }
      st.value = l.style;
      st.addEventListener('change', () => { l.style = st.value as Line['style']; void compute(); });
      const rm = el('button', 'io-rm', '−');
      rm.title = 'Remove this line';
      rm.addEventListener('click', () => { lines.splice(k, 1); drawLines(); void compute(); });
      row.append(on, f, c, st, rm);
      table.appendChild(row);
    });
  };
  add.addEventListener('click', () => { lines.push({ filter: '', color: PALETTE[lines.length % PALETTE.length], style: 'line', on: true }); drawLines(); });
  redraw.addEventListener('click', () => void compute());
  ivSel.addEventListener('change', () => void compute());

  let seq = 0;
  async function compute() {
    const my = ++seq;
    const shown = lines.filter((l) => l.on);
    if (!shown.length) { graph.replaceChildren(); return; }
    const span = await recordingSpan();
    if (span === null || my !== seq) return;
    const iv = ivSel.value === 'auto' ? niceInterval(span) : Number(ivSel.value);
    const view = `io,stat,${seconds(iv)},${shown.map((l) => l.filter.trim() || 'frame').join(',')}`;
    const r = await runStats([view], '');
    if (!r || my !== seq) return;
    const res = r[0] as IoStatResult;
    p.root.dataset.view = view;
    const values: number[][] = res.columns.map((c) => c.cells.map((x) => x.frames));
    plot(graph, hover, shown, values, iv, res.starts_us);
  }
  drawLines();
  void compute();
}

function plot(graph: HTMLElement, hover: HTMLElement, lines: Line[], values: number[][], iv: number, starts: number[]) {
  const W = Math.max(300, graph.clientWidth - 4), H = Math.max(150, graph.clientHeight - 12);
  const L = 48, B = 22, T = 8, R = 8;
  const n = Math.max(1, starts.length);
  const max = Math.max(1, ...values.flat());
  const x = (i: number) => L + ((i + 0.5) / n) * (W - L - R);
  const y = (v: number) => T + (1 - v / max) * (H - T - B);
  const s = svg('svg', { width: W, height: H, class: 'io-svg' });
  s.appendChild(svg('line', { x1: L, y1: T, x2: L, y2: H - B, stroke: '#888' }));
  s.appendChild(svg('line', { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: '#888' }));
  for (let k = 0; k <= 4; k++) {
    const v = Math.round((max * k) / 4);
    const t = svg('text', { x: L - 4, y: y(v) + 3, 'font-size': 10, 'text-anchor': 'end', fill: '#555' });
    t.textContent = String(v);
    s.appendChild(t);
    const u = svg('text', { x: L + (k / 4) * (W - L - R), y: H - 6, 'font-size': 10, 'text-anchor': k === 0 ? 'start' : k === 4 ? 'end' : 'middle', fill: '#555' });
    u.textContent = fmtTime((k / 4) * n * iv);
    s.appendChild(u);
  }
  const bw = Math.max(1, (W - L - R) / n / Math.max(1, lines.length));
  lines.forEach((l, k) => {
    const vs = values[k] ?? [];
    const g = svg('g', { class: 'io-series', 'data-k': k, 'data-values': vs.join(',') });
    if (l.style === 'line') g.appendChild(svg('polyline', { points: vs.map((v, i) => `${x(i)},${y(v)}`).join(' '), fill: 'none', stroke: l.color, 'stroke-width': 1.5 }));
    if (l.style === 'bar') vs.forEach((v, i) => { if (v) g.appendChild(svg('rect', { x: x(i) - ((W - L - R) / n) / 2 + k * bw, y: y(v), width: bw, height: H - B - y(v), fill: l.color })); });
    if (l.style === 'dot' || (l.style === 'line' && n <= 60)) vs.forEach((v, i) => g.appendChild(svg('circle', { cx: x(i), cy: y(v), r: 2.5, fill: l.color })));
    s.appendChild(g);
  });
  const cursor = svg('line', { x1: 0, y1: T, x2: 0, y2: H - B, stroke: '#999', 'stroke-dasharray': '3 3', visibility: 'hidden' });
  s.appendChild(cursor);
  const at = (ev: MouseEvent) => {
    const r = s.getBoundingClientRect();
    return Math.max(0, Math.min(n - 1, Math.floor(((ev.clientX - r.left - L) / (W - L - R)) * n)));
  };
  s.addEventListener('mousemove', (ev) => {
    const i = at(ev);
    cursor.setAttribute('x1', String(x(i))); cursor.setAttribute('x2', String(x(i)));
    cursor.setAttribute('visibility', 'visible');
    hover.textContent = `${seconds(starts[i] ?? i * iv)} s: ` + lines.map((l, k) => `${l.filter || 'all'} = ${values[k]?.[i] ?? 0}`).join(' · ');
    hover.dataset.i = String(i);
  });
  s.addEventListener('click', async (ev) => {
    const i = at(ev);
    const a = starts[i] ?? i * iv;
    const f = and(app.currentFilter(), rangeFilter(a, a + iv));
    const num = (await firstFrameOf(f)) ?? (await firstFrameOf(rangeFilter(a, a + iv)));
    if (num === null) { message('No frame in this interval'); return; }
    await app.goToFrame(num);
  });
  graph.replaceChildren(s);
}

app.analyzeMenu.push(() => [{ label: 'I/O Graph…', action: openIoGraph }]);

initStrip();
