// The artifacts browser (Analyze ▸ Captured Artifacts): every record of the artifact indexes of
// the capture directories `osprey view` was given (`osprey trace --capture dir:...` output), or
// of a live capture's output directory, growing while it runs,
// sortable and filterable; an artifact's download (the server streams the file the index lists)
// with its SHA-256, a hex preview of its first KiB, its frames in the main list (a per-process
// pcap's packets are already merged into the list: "Show in list" filters to them), the runtime
// profile as a table, and `osprey profile diff` of two directories. Events pivot to their
// artifact ("Show captured artifact" in the row and field menus). Data is only put in the page
// as text.

import './artifacts.css';
import { api, app, el, message, openPanel, type Detail, type MenuItem } from './core';

export interface ArtifactProcess { hostProcessId: number; hostThreadId: number; processId: number; threadId: number; processName: string; executable: string; userId: number }
export interface Lost { start: number; end: number; reason: string }
export interface Artifact {
  id: string; kind: string; path: string; file: string; size: number; sha256: string; original_path: string;
  process: ArtifactProcess; container_id: string; timestamp: number; first_seen: number; last_seen: number;
  lost: Lost[]; lost_bytes: number; complete: boolean; event: string; note?: string;
}
export interface CaptureDir { id: number; input: string; out: string; bad_lines: number; has_profile: boolean; artifacts: Artifact[] }

let dirs: CaptureDir[] | null = null;
/** True while a live capture runs: its output directory's index grows. */
let growing = false;
/** The capture directories and their indexes: fetched once for recordings (a finished capture
 * does not change), again at each call for a live capture. */
export async function captures(): Promise<CaptureDir[]> {
  if (!dirs || growing) {
    const { status, body } = await api<{ dirs: CaptureDir[]; live: boolean }>('/api/artifacts');
    dirs = status === 200 ? body.dirs : [];
    growing = status === 200 && body.live;
  }
  return dirs;
}
// Known at start, so that menus can be synchronous; a live capture's again once it has ended.
void captures();
app.onIndexDone.push(() => { if (growing) void captures(); });

/** How often an open browser asks for a live capture's new artifacts. */
const LIVE_REFRESH_MS = 2000;

const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const hexOf = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');

/** The artifact a frame's detail refers to: an artifact record itself, or the artifact an event
 * produced (same process, and a path among the event's arguments: `magic_write`'s file, an
 * exec's binary), or else a packet capture of that process; a packet read from a captured pcap
 * gives that pcap. */
export function artifactFor(d: Detail): Artifact | null {
  if (!dirs) return null;
  const val = (f: string) => d.tree.find((n) => n.field === f)?.value;
  const all = dirs.flatMap((c) => c.artifacts.map((a) => ({ c, a })));
  const path = val('artifact.path');
  if (path !== undefined) {
    const file = val('frame.file') ?? '';
    const sha = val('artifact.sha256');
    const hit = all.find(({ c, a }) => a.path === path && (sha === undefined || a.sha256 === sha) && file === `${c.out}/artifacts.jsonl`)
      ?? all.find(({ a }) => a.path === path && (sha === undefined || a.sha256 === sha));
    return hit?.a ?? null;
  }
  // A packet of a captured pcap: that pcap.
  const file = val('frame.file');
  const pcap = file ? all.find(({ a }) => a.kind === 'pcap' && a.file === file) : undefined;
  if (pcap) return pcap.a;
  const pid = Number(val('tracee.hostProcessId') ?? NaN);
  if (!Number.isFinite(pid)) return null;
  const args = new Set(d.tree.filter((n) => n.field.startsWith('tracee.args.') && n.value).map((n) => n.value));
  const event = val('tracee.eventName') ?? '';
  const mine = all.filter(({ a }) => a.process.hostProcessId === pid);
  const byPath = mine.filter(({ a }) => a.original_path && args.has(a.original_path));
  const prefer = event === 'sched_process_exec' ? 'exec' : event === 'magic_write' ? 'write' : '';
  const best = byPath.find(({ a }) => a.kind === prefer) ?? byPath[0] ?? mine.find(({ a }) => a.kind === 'pcap');
  return best?.a ?? null;
}

async function showFor(number: number, d: Detail | null) {
  await captures();
  let detail = d;
  if (!detail || detail.number !== number) {
    const r = await api<Detail>(`/api/frames/${number}`);
    if (r.status !== 200) return;
    detail = r.body;
  }
  const a = artifactFor(detail);
  if (a) void openArtifacts(a.id); else message(`No captured artifact for frame ${number}`);
}

// ---------- the browser ----------
type Key = (a: Artifact) => string | number;
const COLUMNS: { title: string; key: Key; right?: boolean }[] = [
  { title: 'Id', key: (a) => a.id },
  { title: 'Kind', key: (a) => a.kind },
  { title: 'Path', key: (a) => a.path },
  { title: 'Original path', key: (a) => a.original_path },
  { title: 'Process', key: (a) => (a.process.processName ? `${a.process.processName} (${a.process.hostProcessId})` : '') },
  { title: 'Size', key: (a) => a.size, right: true },
  { title: 'SHA-256', key: (a) => a.sha256 },
  { title: 'Lost', key: (a) => (a.lost.length ? `${a.lost_bytes} B in ${a.lost.length}: ${a.lost.map((l) => `${l.start}-${l.end} ${l.reason}`).join('; ')}` : '') },
  { title: 'Event', key: (a) => a.event },
];

/** Opens the artifacts browser, at artifact `focus` ("D/N") if given. */
export async function openArtifacts(focus?: string) {
  let all = await captures();
  const p = openPanel('artifacts', 'Captured Artifacts');
  p.root.style.width = '1000px';
  p.root.style.height = '560px';
  if (!all.length && !growing) {
    p.body.appendChild(el('p', 'panel-note', 'No capture directory is open: run `osprey view DIR` on the directory of `osprey trace --capture dir:DIR`.'));
    return;
  }
  const filter = el('input') as HTMLInputElement;
  filter.type = 'search';
  filter.placeholder = 'Filter: kind, path, process, hash…';
  filter.id = 'artifacts-filter';
  const count = el('span', 'artifacts-count');
  const profileBtn = el('button', undefined, 'Runtime profile…');
  profileBtn.id = 'artifacts-profile';
  const diffBtn = el('button', undefined, 'Profile diff…');
  diffBtn.id = 'artifacts-diff';
  p.bar.append(filter, count, profileBtn, diffBtn);
  const wrap = el('div', 'artifacts-split');
  const tableBox = el('div', 'artifacts-table');
  const info = el('div', 'artifacts-info');
  info.id = 'artifact-info';
  wrap.append(tableBox, info);
  p.body.appendChild(wrap);
  const rowsOf = (cs: CaptureDir[]) => cs.flatMap((c) => c.artifacts.map((a) => ({ c, a })));
  let rows = rowsOf(all);
  let sort: { col: number; desc: boolean } | null = null;
  let current: string | undefined = focus;

  const table = el('table', 'stats-table') as HTMLTableElement;
  table.id = 'artifacts-table';
  const thead = el('thead');
  const htr = el('tr');
  const tbody = el('tbody');
  COLUMNS.forEach((c, i) => {
    const th = el('th', c.right ? 'num' : undefined, c.title);
    th.dataset.col = String(i);
    th.addEventListener('click', () => {
      sort = sort?.col === i ? { col: i, desc: !sort.desc } : { col: i, desc: false };
      draw();
    });
    htr.appendChild(th);
  });
  thead.appendChild(htr);
  table.append(thead, tbody);
  tableBox.appendChild(table);

  function draw() {
    const q = filter.value.trim().toLowerCase();
    let shown = rows.filter(({ a }) => !q || COLUMNS.some((c) => String(c.key(a)).toLowerCase().includes(q)) || (a.note ?? '').toLowerCase().includes(q));
    if (sort) {
      const { col, desc } = sort;
      const k = COLUMNS[col].key;
      shown = [...shown].sort((x, y) => {
        const a = k(x.a), b = k(y.a);
        const r = typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
        return desc ? -r : r;
      });
    }
    htr.querySelectorAll('th').forEach((th, i) => {
      th.classList.toggle('sorted-asc', sort?.col === i && !sort.desc);
      th.classList.toggle('sorted-desc', sort?.col === i && sort.desc);
    });
    tbody.replaceChildren();
    for (const { a } of shown) {
      const tr = el('tr');
      tr.dataset.id = a.id;
      if (a.id === current) tr.classList.add('sel');
      COLUMNS.forEach((c) => {
        const v = c.key(a);
        tr.appendChild(el('td', c.right ? 'num' : undefined, String(v)));
      });
      tr.addEventListener('click', () => select(a.id));
      tbody.appendChild(tr);
    }
    count.textContent = `${shown.length} of ${rows.length} artifacts${growing ? ' (live: the list grows as the capture writes them)' : ''}`;
  }

  async function select(id: string) {
    current = id;
    tbody.querySelectorAll('tr').forEach((tr) => tr.classList.toggle('sel', (tr as HTMLElement).dataset.id === id));
    const hit = rows.find(({ a }) => a.id === id);
    info.replaceChildren();
    if (!hit) return;
    const { c, a } = hit;
    tbody.querySelector(`tr[data-id="${CSS.escape(id)}"]`)?.scrollIntoView({ block: 'nearest' });
    const dl = el('dl', 'artifact-fields');
    const field = (k: string, v: string, id?: string) => {
      dl.appendChild(el('dt', undefined, k));
      const dd = el('dd', undefined, v);
      if (id) dd.id = id;
      dl.appendChild(dd);
    };
    field('Artifact', `${a.kind} ${a.path || '(not stored)'}`, 'artifact-path');
    field('Directory', c.input);
    if (a.original_path) field('Original path', a.original_path);
    field('Process', `${a.process.processName} host pid ${a.process.hostProcessId}, tid ${a.process.hostThreadId}, uid ${a.process.userId}, ${a.process.executable}`);
    if (a.container_id) field('Container', a.container_id);
    field('Size', `${a.size} bytes`);
    field('SHA-256', a.sha256, 'artifact-sha256');
    field('Complete', a.complete ? 'yes' : `no: ${a.lost_bytes} bytes lost`);
    for (const l of a.lost) field('Lost', `${l.start}–${l.end}: ${l.reason}`);
    if (a.note) field('Note', a.note);
    field('Event', a.event);
    info.appendChild(dl);
    const actions = el('div', 'artifact-actions');
    if (a.path) {
      const [d, n] = a.id.split('/');
      const link = el('a', 'button', 'Download') as HTMLAnchorElement;
      link.id = 'artifact-download';
      link.href = `/api/artifacts/${d}/${n}/file`;
      link.download = a.path.split('/').pop() ?? 'artifact';
      actions.appendChild(link);
    }
    const inList = el('button', undefined, a.kind === 'pcap' ? 'Show packets in list' : 'Show in list');
    inList.id = 'artifact-in-list';
    inList.addEventListener('click', () => {
      const f = a.kind === 'pcap' && a.file ? `frame.file == ${quote(a.file)}` : `artifact.path == ${quote(a.path)} && artifact.sha256 == ${quote(a.sha256)}`;
      void app.applyFilter(f);
    });
    actions.appendChild(inList);
    info.appendChild(actions);
    if (!a.path) return;
    const [d, n] = a.id.split('/');
    const r = await fetch(`/api/artifacts/${d}/${n}/head`);
    if (current !== id) return;
    if (r.status !== 200) { info.appendChild(el('p', 'panel-note', `Preview: ${(await r.json() as { error: string }).error}`)); return; }
    const bytes = new Uint8Array(await r.arrayBuffer());
    info.appendChild(el('div', 'artifact-hex-title', `First ${bytes.length} bytes${a.size > bytes.length ? ` of ${a.size}` : ''}`));
    const pre = el('pre', 'artifact-hex');
    pre.id = 'artifact-hex';
    pre.dataset.hex = hexOf(bytes);
    const lines: string[] = [];
    for (let o = 0; o < bytes.length; o += 16) {
      const chunk = bytes.subarray(o, o + 16);
      const ascii = Array.from(chunk, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
      lines.push(`${o.toString(16).padStart(4, '0')}  ${hexOf(chunk).padEnd(47)}  ${ascii}`);
    }
    pre.textContent = lines.join('\n');
    info.appendChild(pre);
  }

  filter.addEventListener('input', draw);
  profileBtn.addEventListener('click', () => void openProfile(all));
  diffBtn.addEventListener('click', () => void openDiff(all));
  draw();
  if (focus) void select(focus);
  // A live capture: new artifacts appear while the browser is open (the filter, the sort and
  // the selection stay).
  const refresh = async () => {
    if (!document.body.contains(p.root)) return;
    const before = rows.length;
    all = await captures();
    rows = rowsOf(all);
    if (rows.length !== before) draw();
    // the capture's last artifacts (the runtime profile) come as it ends: drawn above, then no more asking
    if (growing) setTimeout(() => void refresh(), LIVE_REFRESH_MS);
  };
  if (growing) setTimeout(() => void refresh(), LIVE_REFRESH_MS);
}

// ---------- the runtime profile and its diff ----------
interface ProfileEntry { key: string; identity: string; times: number; file_hash: string }

async function openProfile(all: CaptureDir[]) {
  const p = openPanel('artifacts-profile', 'Runtime Profile');
  const withProfile = all.filter((c) => c.has_profile);
  if (!withProfile.length) { p.body.appendChild(el('p', 'panel-note', 'No open capture has a runtime profile (trace with --capture profile).')); return; }
  const pick = el('select') as HTMLSelectElement;
  pick.id = 'profile-dir';
  for (const c of withProfile) { const o = el('option', undefined, c.input) as HTMLOptionElement; o.value = String(c.id); pick.appendChild(o); }
  p.bar.appendChild(pick);
  const show = async () => {
    const { status, body } = await api<{ entries: ProfileEntry[]; error?: string }>(`/api/artifacts/${pick.value}/profile`);
    p.body.replaceChildren();
    if (status !== 200) { p.body.appendChild(el('p', 'panel-note', body.error ?? `error ${status}`)); return; }
    const t = el('table', 'stats-table');
    t.id = 'profile-table';
    const h = el('tr');
    for (const c of ['Binary (key)', 'Identity', 'Runs', 'SHA-256']) h.appendChild(el('th', c === 'Runs' ? 'num' : undefined, c));
    t.appendChild(h);
    for (const e of body.entries) {
      const tr = el('tr');
      tr.append(el('td', undefined, e.key), el('td', undefined, e.identity), el('td', 'num', String(e.times)), el('td', undefined, e.file_hash));
      t.appendChild(tr);
    }
    p.body.appendChild(t);
  };
  pick.addEventListener('change', () => void show());
  await show();
}

interface DiffChange { change: string; name: string; old_hashes?: string[]; new_hashes?: string[]; old_times?: number; new_times?: number }

async function openDiff(all: CaptureDir[]) {
  const p = openPanel('artifacts-diff', 'Profile Diff');
  p.root.style.width = '900px';
  p.root.style.height = '280px';
  const withProfile = all.filter((c) => c.has_profile);
  if (withProfile.length < 2) {
    p.body.appendChild(el('p', 'panel-note', 'Profile diff compares two capture directories with a runtime profile: open both, e.g. `osprey view OLD NEW`.'));
    return;
  }
  const mk = (id: string, sel: number) => {
    const s = el('select') as HTMLSelectElement;
    s.id = id;
    for (const c of withProfile) { const o = el('option', undefined, c.input) as HTMLOptionElement; o.value = String(c.id); s.appendChild(o); }
    s.value = String(withProfile[sel].id);
    return s;
  };
  const oldSel = mk('diff-old', 0), newSel = mk('diff-new', 1);
  p.bar.append(el('span', undefined, 'Old'), oldSel, el('span', undefined, 'New'), newSel);
  const show = async () => {
    const { status, body } = await api<{ changes: DiffChange[]; failed: boolean; text: string; error?: string }>(`/api/artifacts/diff?old=${oldSel.value}&new=${newSel.value}`);
    p.body.replaceChildren();
    if (status !== 200) { p.body.appendChild(el('p', 'panel-note', body.error ?? `error ${status}`)); return; }
    const verdict = el('p', body.failed ? 'diff-failed' : 'diff-ok', body.text.trim().split('\n').pop() ?? '');
    verdict.id = 'diff-verdict';
    p.body.appendChild(verdict);
    const t = el('table', 'stats-table');
    t.id = 'diff-table';
    const h = el('tr');
    for (const c of ['Change', 'Binary', 'Old', 'New']) h.appendChild(el('th', undefined, c));
    t.appendChild(h);
    for (const c of body.changes) {
      const tr = el('tr', `diff-${c.change}`);
      const side = (hs?: string[], n?: number) => [hs?.length ? hs.join(', ') : '', n !== undefined ? `${n} run${n === 1 ? '' : 's'}` : ''].filter(Boolean).join(' · ');
      tr.append(el('td', undefined, c.change), el('td', undefined, c.name), el('td', undefined, side(c.old_hashes, c.old_times)), el('td', undefined, side(c.new_hashes, c.new_times)));
      t.appendChild(tr);
    }
    p.body.appendChild(t);
  };
  oldSel.addEventListener('change', () => void show());
  newSel.addEventListener('change', () => void show());
  await show();
}

// ---------- registration ----------
app.analyzeMenu.push(() => [{ label: 'Captured Artifacts…', action: () => void openArtifacts() }]);
app.rowMenu.push((number): MenuItem[] => ((dirs && dirs.length) || growing ? [{ label: 'Show captured artifact', action: () => void showFor(number, app.selected()) }] : []));
app.fieldMenu.push((_node, detail): MenuItem[] => {
  const a = artifactFor(detail);
  return a ? [{ label: 'Show captured artifact', action: () => void openArtifacts(a.id) }] : [];
});
