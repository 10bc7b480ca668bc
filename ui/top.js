// The top table: pprof_top's rows (flat/cum, sortable, filterable); with a
// baseline, both sides' shares and the change. Clicking a function hands
// its name to onPick (the flame graph highlights it).
import { escapeHTML } from './flame.js';
import { formatValue } from './format.js';

const SINGLE = [
  { key: 'flat', title: 'flat', num: true }, { key: 'flat_pct', title: 'flat%', num: true },
  { key: 'cum', title: 'cum', num: true }, { key: 'cum_pct', title: 'cum%', num: true },
  { key: 'func', title: 'function' },
];
const DIFF = [
  { key: 'base_flat_pct', title: 'base flat%', num: true }, { key: 'flat_pct', title: 'flat%', num: true },
  { key: 'delta', title: 'change', num: true },
  { key: 'base_cum_pct', title: 'base cum%', num: true }, { key: 'cum_pct', title: 'cum%', num: true },
  { key: 'func', title: 'function' },
];

export class TopTable {
  constructor(table, filterInput, { onPick } = {}) {
    this.table = table;
    this.filter = filterInput;
    this.onPick = onPick || (() => {});
    this.rows = [];
    this.sort = { key: null, desc: true };
    this.filter.addEventListener('input', () => this.render());
    this.limit = 300;
    table.addEventListener('click', (e) => {
      if (e.target.closest('[data-more]')) {
        e.preventDefault();
        this.limit += 1000;
        return this.render();
      }
      const th = e.target.closest('th');
      if (th) {
        const key = th.dataset.key;
        this.sort = { key, desc: this.sort.key === key ? !this.sort.desc : key !== 'func' };
        return this.render();
      }
      const tr = e.target.closest('tr[data-func]');
      if (tr) {
        for (const x of table.querySelectorAll('tr.picked')) x.classList.remove('picked');
        tr.classList.add('picked');
        this.onPick(tr.dataset.func);
      }
    });
  }

  setData({ rows, unit, diff }) {
    this.unit = unit;
    this.diff = !!diff;
    this.rows = rows.map((r) => (this.diff ? { ...r, delta: r.flat_pct - r.base_flat_pct } : r));
    this.sort = { key: null, desc: true };
    this.limit = 300;
    this.render();
  }

  render() {
    const cols = this.diff ? DIFF : SINGLE;
    let rows = this.rows;
    const f = this.filter.value.trim().toLowerCase();
    if (f) rows = rows.filter((r) => r.func.toLowerCase().includes(f));
    if (this.sort.key) {
      const k = this.sort.key;
      const s = this.sort.desc ? -1 : 1;
      const key = this.diff && k === 'delta' ? (r) => Math.abs(r.delta) : (r) => r[k];
      rows = [...rows].sort((a, b) => (key(a) < key(b) ? -s : key(a) > key(b) ? s : 0));
    }
    const u = this.unit;
    const cell = (r, c) => {
      const v = r[c.key];
      if (c.key === 'func') return `<td class="func" title="${escapeHTML(v)}">${escapeHTML(v)}</td>`;
      if (c.key.endsWith('_pct')) return `<td>${v.toFixed(2)}%</td>`;
      if (c.key === 'delta') return `<td class="${v > 0 ? 'worse' : v < 0 ? 'better' : ''}">${v > 0 ? '+' : ''}${v.toFixed(2)}</td>`;
      return `<td>${formatValue(v, u)}</td>`;
    };
    const head = cols.map((c) => {
      const mark = this.sort.key === c.key ? (this.sort.desc ? ' ▼' : ' ▲') : '';
      return `<th data-key="${c.key}" class="${c.num ? 'num' : ''}">${c.title}${mark}</th>`;
    }).join('');
    // the first rows only (a profile may have thousands of functions): more on request
    const shown = rows.slice(0, this.limit);
    const body = shown.map((r) => `<tr data-func="${escapeHTML(r.func)}">${cols.map((c) => cell(r, c)).join('')}</tr>`).join('');
    const more = rows.length > shown.length
      ? `<tr class="more"><td colspan="${cols.length}">${rows.length - shown.length} more: <a href="#" data-more>show ${Math.min(1000, rows.length - shown.length)} more</a> or filter</td></tr>` : '';
    this.table.innerHTML = `<thead><tr>${head}</tr></thead><tbody>${body}${more}</tbody>`;
  }
}

