// A virtualized, sortable, collapsible tree table: only the rows in view are in the page, so a
// tree of 50k processes scrolls as smoothly as one of ten. Used by every statistics window and
// the process tree. Cell text is only ever set with textContent.
import { el } from './core';

export interface TRow {
  /** One value per column: numbers sort as numbers. */
  cells: (string | number)[];
  children?: TRow[];
  /** The display filter of the row ('' when it has none). */
  filter?: string;
  /** Open (children shown); the tree opens its first levels by default. */
  open?: boolean;
  /** Anything the window keeps with the row (a process...). */
  data?: unknown;
}
export interface TColumn { title: string; numeric?: boolean; width?: number; format?: (v: string | number) => string }

export const ROW_HEIGHT = 20;

export class TreeTable {
  readonly root: HTMLDivElement;
  private head: HTMLDivElement;
  private scroll: HTMLDivElement;
  private spacer: HTMLDivElement;
  private rowsEl: HTMLDivElement;
  private flat: { row: TRow; depth: number }[] = [];
  private sortCol = -1;
  private sortDesc = true;
  private sorted = new WeakMap<TRow[], TRow[]>();
  private roots: TRow[] = [];
  selected: TRow | null = null;
  /** Called on a click on a row (not on its toggle). */
  onActivate: (row: TRow, ev: MouseEvent) => void = () => {};
  onContext: (row: TRow, ev: MouseEvent) => void = () => {};
  onSelectRow: (row: TRow) => void = () => {};
  private frame = 0;

  constructor(private columns: TColumn[]) {
    this.root = el('div', 'tt') as HTMLDivElement;
    this.head = el('div', 'tt-head') as HTMLDivElement;
    this.scroll = el('div', 'tt-scroll') as HTMLDivElement;
    this.scroll.tabIndex = 0;
    this.spacer = el('div', 'tt-spacer') as HTMLDivElement;
    this.rowsEl = el('div', 'tt-rows') as HTMLDivElement;
    this.scroll.append(this.spacer, this.rowsEl);
    this.root.append(this.head, this.scroll);
    this.scroll.addEventListener('scroll', () => this.schedule());
    new ResizeObserver(() => this.schedule()).observe(this.scroll);
    this.scroll.addEventListener('keydown', (ev) => this.key(ev));
    this.drawHead();
  }

  private template() {
    return this.columns.map((c, i) => (i === 0 ? 'minmax(200px, 1fr)' : `${c.width ?? 80}px`)).join(' ');
  }

  private drawHead() {
    this.head.replaceChildren();
    this.head.style.gridTemplateColumns = this.template();
    this.columns.forEach((c, i) => {
      const h = el('div', 'tt-h' + (c.numeric ? ' num' : ''), c.title);
      h.dataset.col = String(i);
      if (i === this.sortCol) h.classList.add(this.sortDesc ? 'sorted-desc' : 'sorted-asc');
      h.title = 'Sort by this column';
      h.addEventListener('click', () => this.sortBy(i));
      this.head.appendChild(h);
    });
  }

  /** Sorts every level by column `i` (a second click reverses). */
  sortBy(i: number, desc?: boolean) {
    if (desc !== undefined) this.sortDesc = desc;
    else if (this.sortCol === i) this.sortDesc = !this.sortDesc;
    else this.sortDesc = !!this.columns[i].numeric;
    this.sortCol = i;
    this.sorted = new WeakMap();
    this.drawHead();
    this.refresh();
  }

  setRows(roots: TRow[], openDepth = 2) {
    const openTo = (rs: TRow[], d: number) => {
      for (const r of rs) {
        if (r.open === undefined) r.open = d < openDepth;
        if (r.children && d + 1 < openDepth) openTo(r.children, d + 1);
      }
    };
    openTo(roots, 0);
    this.roots = roots;
    this.sorted = new WeakMap();
    this.selected = null;
    this.refresh();
  }

  private order(rs: TRow[]): TRow[] {
    if (this.sortCol < 0) return rs;
    let s = this.sorted.get(rs);
    if (!s) {
      const c = this.sortCol, sign = this.sortDesc ? -1 : 1;
      s = rs.slice().sort((a, b) => {
        const x = a.cells[c], y = b.cells[c];
        if (typeof x === 'number' && typeof y === 'number') return sign * (x - y);
        return sign * String(x).localeCompare(String(y), undefined, { numeric: true });
      });
      this.sorted.set(rs, s);
    }
    return s;
  }

  /** Rebuilds the list of visible rows (after a toggle, a sort, new rows). */
  refresh() {
    const flat: { row: TRow; depth: number }[] = [];
    const walk = (rs: TRow[], depth: number) => {
      for (const r of this.order(rs)) {
        flat.push({ row: r, depth });
        if (r.open && r.children?.length) walk(r.children, depth + 1);
      }
    };
    walk(this.roots, 0);
    this.flat = flat;
    this.root.dataset.rows = String(flat.length);
    this.spacer.style.height = `${flat.length * ROW_HEIGHT}px`;
    this.render();
  }

  /** Every row in tree order with its depth (collapsed ones too), for CSV and text. */
  all(): { row: TRow; depth: number }[] {
    const out: { row: TRow; depth: number }[] = [];
    const walk = (rs: TRow[], depth: number) => {
      for (const r of this.order(rs)) {
        out.push({ row: r, depth });
        if (r.children) walk(r.children, depth + 1);
      }
    };
    walk(this.roots, 0);
    return out;
  }

  setAllOpen(open: boolean) {
    for (const { row } of this.all()) if (row.children?.length) row.open = open;
    this.refresh();
  }

  visibleCount() { return this.flat.length; }

  private schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.render(); });
  }

  private render() {
    const top = this.scroll.scrollTop;
    const h = this.scroll.clientHeight || 400;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - 5);
    const last = Math.min(this.flat.length, Math.ceil((top + h) / ROW_HEIGHT) + 5);
    this.rowsEl.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
    const tpl = this.template();
    const kids: HTMLElement[] = [];
    for (let i = first; i < last; i++) {
      const { row, depth } = this.flat[i];
      const d = el('div', 'tt-row');
      d.style.gridTemplateColumns = tpl;
      d.dataset.index = String(i);
      d.dataset.depth = String(depth);
      d.dataset.name = String(row.cells[0]);
      if (row.filter) d.dataset.filter = row.filter;
      if (row === this.selected) d.classList.add('sel');
      this.columns.forEach((c, ci) => {
        const v = row.cells[ci] ?? '';
        const cell = el('div', 'tt-c' + (c.numeric ? ' num' : ''));
        if (ci === 0) {
          cell.style.paddingLeft = `${4 + depth * 14}px`;
          const t = el('span', 'tt-toggle', row.children?.length ? (row.open ? '▾' : '▸') : '');
          t.addEventListener('click', (ev) => { ev.stopPropagation(); this.toggle(row); });
          cell.appendChild(t);
          cell.appendChild(document.createTextNode(String(v)));
          cell.title = String(v);
        } else {
          cell.textContent = c.format ? c.format(v) : typeof v === 'number' ? v.toLocaleString('en-US') : v;
        }
        d.appendChild(cell);
      });
      d.addEventListener('click', (ev) => { this.select(row); this.onActivate(row, ev); });
      d.addEventListener('dblclick', () => this.toggle(row));
      d.addEventListener('contextmenu', (ev) => { ev.preventDefault(); this.select(row); this.onContext(row, ev); });
      kids.push(d);
    }
    this.rowsEl.replaceChildren(...kids);
  }

  toggle(row: TRow) {
    if (!row.children?.length) return;
    row.open = !row.open;
    this.refresh();
  }

  select(row: TRow) {
    this.selected = row;
    this.rowsEl.querySelectorAll('.tt-row.sel').forEach((r) => r.classList.remove('sel'));
    const i = this.flat.findIndex((f) => f.row === row);
    const d = this.rowsEl.querySelector(`.tt-row[data-index="${i}"]`);
    d?.classList.add('sel');
    this.onSelectRow(row);
  }

  /** Opens the ancestors of `row` and scrolls it into view. */
  reveal(path: TRow[]) {
    for (const r of path.slice(0, -1)) r.open = true;
    this.refresh();
    const row = path[path.length - 1];
    const i = this.flat.findIndex((f) => f.row === row);
    if (i >= 0) this.scroll.scrollTop = Math.max(0, i * ROW_HEIGHT - this.scroll.clientHeight / 2);
    this.render();
    this.select(row);
  }

  private key(ev: KeyboardEvent) {
    const i = this.flat.findIndex((f) => f.row === this.selected);
    let j: number;
    if (ev.key === 'ArrowDown') j = Math.min(this.flat.length - 1, i + 1);
    else if (ev.key === 'ArrowUp') j = Math.max(0, i - 1);
    else if ((ev.key === 'ArrowRight' || ev.key === 'ArrowLeft') && this.selected) {
      const want = ev.key === 'ArrowRight';
      if (!!this.selected.open !== want) this.toggle(this.selected);
      ev.preventDefault();
      return;
    } else return;
    ev.preventDefault();
    if (j < 0) return;
    const row = this.flat[j].row;
    const top = j * ROW_HEIGHT;
    if (top < this.scroll.scrollTop) this.scroll.scrollTop = top;
    else if (top + ROW_HEIGHT > this.scroll.scrollTop + this.scroll.clientHeight) this.scroll.scrollTop = top + ROW_HEIGHT - this.scroll.clientHeight;
    this.render();
    this.select(row);
  }

  /** The table as CSV (every row, an indent column for the depth). */
  csv(): string {
    const q = (v: string | number) => {
      const s = String(v);
      return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    };
    const lines = [['Level', ...this.columns.map((c) => c.title)].map(q).join(',')];
    for (const { row, depth } of this.all()) lines.push([depth, ...row.cells].map(q).join(','));
    return lines.join('\n') + '\n';
  }
}
