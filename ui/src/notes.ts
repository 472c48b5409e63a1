// Marks and notes, saved by the server in a sidecar file beside the recording (never in it:
// GET/PUT /api/notes, docs/view-api.md), loaded at start so that they survive a reload; a note
// per frame (row menu "Add note…", shown in the detail pane); and the investigation report
// (Analyze ▸ Investigation Report…): the marked frames with their notes, the ancestry of their
// processes (from the `tracee,process_tree` statistics view, not re-derived here) and the
// hashes of their captured artifacts, as HTML (everything escaped) or Markdown.

import { $, api, app, download, el, message, openPanel, type Detail, type Profile, type Row, type Window } from './core';
import { artifactFor, captures, type Artifact } from './artifacts';

const notes = new Map<number, string>();
let savedPath: string | null = null;
let warning: string | null = null;
let loaded = false;

interface NotesAnswer { marks: number[]; notes: Record<string, string>; path: string | null; sidecar: string | null; fallback: string | null }

async function load() {
  const { status, body } = await api<NotesAnswer>('/api/notes');
  if (status !== 200) return;
  for (const n of body.marks) app.marked.add(n);
  for (const [k, v] of Object.entries(body.notes)) notes.set(Number(k), v);
  savedPath = body.path ?? body.sidecar ?? body.fallback;
  if (body.path && body.sidecar && body.path !== body.sidecar) {
    warning = `Notes are kept in ${body.path} (the place beside the recording, ${body.sidecar}, was not writable)`;
  }
  loaded = true;
  app.refresh();
  const d = app.selected();
  if (d) showNote(d);
}
void load();

let saveTimer: number | undefined;
let saving: Promise<void> = Promise.resolve();
/** Saves marks and notes shortly (several marks in a row make one write). */
function save() {
  window.clearTimeout(saveTimer);
  saveTimer = window.setTimeout(() => {
    saving = saving.then(async () => {
      const body = JSON.stringify({ marks: [...app.marked].sort((a, b) => a - b), notes: Object.fromEntries(notes) });
      const r = await api<{ path?: string; warning?: string | null; error?: string }>('/api/notes', { method: 'PUT', headers: { 'content-type': 'application/json' }, body });
      if (r.status !== 200) { warning = `Marks and notes not saved: ${r.body.error ?? r.status}`; message(warning); return; }
      savedPath = r.body.path ?? null;
      warning = r.body.warning ? `${r.body.warning}; notes saved in ${savedPath}` : null;
      if (warning) message(warning);
      document.body.dataset.notesSaved = String(Date.now());
      const d = app.selected();
      if (d) showNote(d);
    });
  }, 150);
}
app.onMark.push(() => { if (loaded) save(); });

// ---------- a note per frame ----------
function noteBox(): HTMLDivElement {
  let box = document.getElementById('note-view') as HTMLDivElement | null;
  if (!box) {
    box = el('div', 'note-view') as HTMLDivElement;
    box.id = 'note-view';
    const tree = $('tree');
    tree.parentElement!.insertBefore(box, tree);
  }
  return box;
}

function showNote(d: Detail) {
  const box = noteBox();
  box.replaceChildren();
  const text = notes.get(d.number);
  box.hidden = text === undefined && !warning;
  if (text !== undefined) {
    box.appendChild(el('span', 'note-label', `Note on frame ${d.number}: `));
    const t = el('span', 'note-text', text);
    t.id = 'note-text';
    box.appendChild(t);
    const edit = el('button', undefined, 'Edit…');
    edit.addEventListener('click', () => editNote(d.number));
    box.appendChild(edit);
  }
  if (warning) box.appendChild(el('div', 'note-warning', warning));
}
app.onSelect.push(showNote);

/** Opens the note editor of frame `n`. */
export function editNote(n: number) {
  const p = openPanel('note', `Note on frame ${n}`);
  p.root.style.width = '460px';
  p.root.style.height = '240px';
  const ta = el('textarea', 'note-edit') as HTMLTextAreaElement;
  ta.id = 'note-edit';
  ta.value = notes.get(n) ?? '';
  const ok = el('button', undefined, 'Save');
  ok.id = 'note-save';
  const del = el('button', undefined, 'Delete note') as HTMLButtonElement;
  del.disabled = !notes.has(n);
  const where = el('span', 'note-where', savedPath ? `saved in ${savedPath}` : '');
  p.bar.append(ok, del, where);
  p.body.appendChild(ta);
  ta.focus();
  const done = () => {
    save();
    p.close();
    const d = app.selected();
    if (d && d.number === n) showNote(d);
  };
  ok.addEventListener('click', () => {
    if (ta.value.trim()) notes.set(n, ta.value); else notes.delete(n);
    done();
  });
  del.addEventListener('click', () => { notes.delete(n); done(); });
}

// ---------- the investigation report ----------
const escHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const escMd = (s: string) => s.replace(/[\\`*_[\]<>&|#!{}()~]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : `\\${c}`)).replace(/\r?\n/g, ' ');

interface TreeNode { name: string; process?: { host_pid?: number }; children?: TreeNode[] }
interface StatsState { id: number; done: boolean; error: string | null }

/** The process tree of the whole recording, from /api/stats (`tracee,process_tree`). */
async function processTree(): Promise<TreeNode[]> {
  const start = await api<StatsState & { error?: string }>('/api/stats', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ views: ['tracee,process_tree'], filter: '' }) });
  if (start.status !== 200) return [];
  for (let i = 0; i < 600; i++) {
    const r = await api<{ state: StatsState; results: { result: { nodes?: TreeNode[] } | { nodes?: TreeNode[] }[] }[] | null }>(`/api/stats/${start.body.id}`);
    if (r.status !== 200) return [];
    if (r.body.results) {
      const res = r.body.results[0]?.result;
      const one = Array.isArray(res) ? res[0] : res;
      return one?.nodes ?? [];
    }
    await new Promise((ok) => setTimeout(ok, 100));
  }
  return [];
}

/** The labels from the root to the process `pid` in `nodes`, or []. */
function ancestry(nodes: TreeNode[], pid: number, path: string[] = []): string[] {
  for (const n of nodes) {
    const here = [...path, n.name];
    if (n.process?.host_pid === pid) return here;
    const below = ancestry(n.children ?? [], pid, here);
    if (below.length) return below;
  }
  return [];
}

interface Entry { number: number; cells: string[]; note: string; marked: boolean; pid: number | null; ancestry: string[]; artifact: Artifact | null }
export interface Report { title: string; columns: string[]; entries: Entry[] }

/** Gathers the report: the marked frames and the frames with a note, in frame order. */
export async function gatherReport(): Promise<Report> {
  const numbers = [...new Set([...app.marked, ...notes.keys()])].sort((a, b) => a - b);
  const { body: profile } = await api<Profile>('/api/profile');
  const rows = new Map<number, Row>();
  for (let i = 0; i < numbers.length; i += 500) {
    const part = numbers.slice(i, i + 500);
    const filter = `frame.number in {${part.join(' ')}}`;
    const made = await api<{ done: boolean }>('/api/views', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filter }) });
    for (let t = 0; t < 600 && made.status === 200 && !made.body.done; t++) {
      await new Promise((ok) => setTimeout(ok, 50));
      const st = await api<{ done: boolean }>(`/api/views?filter=${encodeURIComponent(filter)}`);
      if (st.status !== 200) break;
      made.body = st.body;
    }
    const r = await api<Window>(`/api/rows?offset=0&limit=1000&filter=${encodeURIComponent(filter)}`);
    for (const row of r.body.rows ?? []) rows.set(row.number, row);
  }
  await captures();
  const tree = await processTree();
  const entries: Entry[] = [];
  for (const n of numbers) {
    const d = await api<Detail>(`/api/frames/${n}`);
    const detail = d.status === 200 ? d.body : null;
    const pidText = detail?.tree.find((x) => x.field === 'tracee.hostProcessId')?.value;
    const pid = pidText !== undefined && /^\d+$/.test(pidText) ? Number(pidText) : null;
    entries.push({
      number: n,
      cells: rows.get(n)?.cells ?? [],
      note: notes.get(n) ?? '',
      marked: app.marked.has(n),
      pid,
      ancestry: pid !== null ? ancestry(tree, pid) : [],
      artifact: detail ? artifactFor(detail) : null,
    });
  }
  return { title: document.title, columns: profile.columns.map((c) => c.title), entries };
}

export function reportHtml(r: Report): string {
  const out: string[] = [];
  out.push('<!doctype html><html><head><meta charset="utf-8">');
  out.push('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">');
  out.push(`<title>Investigation report</title><style>body{font:13px sans-serif}table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:2px 5px;text-align:left;vertical-align:top}.note{white-space:pre-wrap;background:#ffd}</style></head><body>`);
  out.push(`<h1>Investigation report</h1><p>${escHtml(`${r.entries.length} frames (marked or annotated), generated ${new Date().toISOString()} by osprey view`)}</p>`);
  out.push('<h2>Frames</h2><table><thead><tr><th>Marked</th>');
  for (const c of r.columns) out.push(`<th>${escHtml(c)}</th>`);
  out.push('<th>Note</th></tr></thead><tbody>');
  for (const e of r.entries) {
    out.push(`<tr data-frame="${e.number}"><td>${e.marked ? '✓' : ''}</td>`);
    for (let i = 0; i < r.columns.length; i++) out.push(`<td>${escHtml(e.cells[i] ?? (i === 0 ? String(e.number) : ''))}</td>`);
    out.push(`<td class="note">${escHtml(e.note)}</td></tr>`);
  }
  out.push('</tbody></table><h2>Processes</h2><ul>');
  const seen = new Set<number>();
  for (const e of r.entries) {
    if (e.pid === null || seen.has(e.pid)) continue;
    seen.add(e.pid);
    const chain = e.ancestry.length ? e.ancestry : [`${e.pid} (not in the process tree)`];
    out.push(`<li>${escHtml(`host pid ${e.pid}: `)}${chain.map((l) => escHtml(l)).join(' → ')}</li>`);
  }
  out.push('</ul><h2>Artifacts</h2><table><thead><tr><th>Frame</th><th>Kind</th><th>Path</th><th>Original path</th><th>Size</th><th>SHA-256</th></tr></thead><tbody>');
  for (const e of r.entries) {
    const a = e.artifact;
    if (!a) continue;
    out.push(`<tr><td>${e.number}</td><td>${escHtml(a.kind)}</td><td>${escHtml(a.path)}</td><td>${escHtml(a.original_path)}</td><td>${a.size}</td><td class="sha256">${escHtml(a.sha256)}</td></tr>`);
  }
  out.push('</tbody></table></body></html>\n');
  return out.join('');
}

export function reportMarkdown(r: Report): string {
  const out: string[] = [];
  out.push('# Investigation report', '', escMd(`${r.entries.length} frames (marked or annotated), generated ${new Date().toISOString()} by osprey view`), '', '## Frames', '');
  out.push(`| Marked | ${r.columns.map(escMd).join(' | ')} | Note |`);
  out.push(`|---|${r.columns.map(() => '---').join('|')}|---|`);
  for (const e of r.entries) {
    const cells = r.columns.map((_, i) => escMd(e.cells[i] ?? (i === 0 ? String(e.number) : '')));
    out.push(`| ${e.marked ? '✓' : ''} | ${cells.join(' | ')} | ${escMd(e.note)} |`);
  }
  out.push('', '## Processes', '');
  const seen = new Set<number>();
  for (const e of r.entries) {
    if (e.pid === null || seen.has(e.pid)) continue;
    seen.add(e.pid);
    out.push(`- host pid ${e.pid}: ${(e.ancestry.length ? e.ancestry : ['(not in the process tree)']).map(escMd).join(' → ')}`);
  }
  out.push('', '## Artifacts', '', '| Frame | Kind | Path | Original path | Size | SHA-256 |', '|---|---|---|---|---|---|');
  for (const e of r.entries) {
    const a = e.artifact;
    if (a) out.push(`| ${e.number} | ${escMd(a.kind)} | ${escMd(a.path)} | ${escMd(a.original_path)} | ${a.size} | ${escMd(a.sha256)} |`);
  }
  out.push('');
  return out.join('\n');
}

async function openReport() {
  const p = openPanel('report', 'Investigation Report');
  const html = el('button', undefined, 'Export HTML…');
  html.id = 'report-html';
  const md = el('button', undefined, 'Export Markdown…');
  md.id = 'report-md';
  p.bar.append(html, md, el('span', 'note-where', savedPath ? `marks and notes: ${savedPath}` : ''));
  p.body.appendChild(el('p', 'panel-note', 'Gathering the marked and annotated frames…'));
  const r = await gatherReport();
  p.body.replaceChildren();
  if (!r.entries.length) p.body.appendChild(el('p', 'panel-note', 'No frame is marked (Ctrl+M) or annotated (row menu: Add note…).'));
  const list = el('ul', 'report-list');
  list.id = 'report-list';
  for (const e of r.entries) {
    const li = el('li');
    li.dataset.frame = String(e.number);
    li.appendChild(el('b', undefined, `Frame ${e.number}${e.marked ? ' (marked)' : ''}: `));
    li.appendChild(document.createTextNode(e.cells[e.cells.length - 1] ?? ''));
    if (e.ancestry.length) li.appendChild(el('div', 'report-anc', e.ancestry.join(' → ')));
    if (e.note) li.appendChild(el('div', 'note-text', e.note));
    if (e.artifact) li.appendChild(el('div', 'report-art', `${e.artifact.kind} ${e.artifact.path} sha256 ${e.artifact.sha256}`));
    li.addEventListener('click', () => void app.goToFrame(e.number));
    list.appendChild(li);
  }
  p.body.appendChild(list);
  html.addEventListener('click', () => download('osprey-report.html', reportHtml(r), 'text/html'));
  md.addEventListener('click', () => download('osprey-report.md', reportMarkdown(r), 'text/markdown'));
}

app.rowMenu.push((number) => [{ label: notes.has(number) ? 'Edit note…' : 'Add note…', action: () => editNote(number) }]);
app.analyzeMenu.push(() => [{ label: 'Investigation Report…', action: () => void openReport() }]);
