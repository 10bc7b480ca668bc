// A flame graph on a canvas, from the collector's nested-set rows
// (pre-order: level, label, self, value; with a baseline also selfRight,
// valueRight). Hand-written rather than taken from npm: the components
// that draw such rows need React and Grafana's packages (hundreds of MB),
// and SVG ones build a DOM node per frame, which stops being smooth well
// before 10,000 frames. Here a frame is a few numbers in typed arrays, a
// redraw visits only frames at least half a pixel wide (a narrower frame's
// whole subtree is skipped), and hovering is a binary search in one level.
import { formatValue, pct } from './format.js';

const ROW = 18;
const FONT = '12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';

// a warm colour per package, stable across loads (as flame graphs go)
function hashColor(label) {
  let pkg = label;
  const slash = pkg.lastIndexOf('/');
  const dot = pkg.indexOf('.', slash + 1);
  if (dot > 0) pkg = pkg.slice(0, dot);
  let h = 2166136261;
  for (let i = 0; i < pkg.length; i++) h = Math.imul(h ^ pkg.charCodeAt(i), 16777619);
  const r = (h >>> 0) / 4294967296;
  return `hsl(${Math.round(10 + r * 45)}, ${Math.round(70 + r * 20)}%, ${Math.round(55 + r * 12)}%)`;
}

// red where the selection spends a larger share than the baseline, green
// where a smaller one; the stronger, the larger the change
function diffColor(l, r) {
  const m = Math.max(l, r);
  const d = m > 0 ? (r - l) / m : 0;
  const a = Math.min(1, Math.abs(d));
  if (Math.abs(d) < 0.02) return 'hsl(0, 0%, 82%)';
  return d > 0 ? `hsl(0, ${Math.round(40 + a * 50)}%, ${Math.round(85 - a * 30)}%)`
    : `hsl(120, ${Math.round(35 + a * 40)}%, ${Math.round(85 - a * 35)}%)`;
}

export class FlameGraph {
  constructor(container, tooltip, { onZoom } = {}) {
    this.container = container;
    this.tooltip = tooltip;
    this.onZoom = onZoom || (() => {});
    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute('aria-label', 'flame graph');
    container.appendChild(this.canvas);
    this.ctx = this.canvas.getContext('2d');
    this.n = 0;
    this.zoom = 0;
    this.matched = null;
    this.hover = -1;
    this.stats = { drawn: 0, labelled: [] };
    this.canvas.addEventListener('mousemove', (e) => this.onMove(e));
    this.canvas.addEventListener('mouseleave', () => this.hideTip());
    this.canvas.addEventListener('click', (e) => {
      const i = this.hit(e);
      if (i >= 0) this.zoomTo(i);
    });
    new ResizeObserver(() => this.render()).observe(container);
  }

  // rows: [{level, label, self, value[, selfRight, valueRight]}]
  setData({ rows, unit, total, totalRight, diff }) {
    const n = rows.length;
    this.rows = rows;
    this.unit = unit;
    this.diff = !!diff;
    this.total = total || 0;
    this.totalRight = totalRight || 0;
    this.n = n;
    this.level = new Int32Array(n);
    this.x = new Float64Array(n);
    this.w = new Float64Array(n);
    this.end = new Int32Array(n);
    this.parent = new Int32Array(n);
    this.labels = new Array(n);
    this.colors = new Array(n);
    const cursor = [0];
    const stack = [];
    let maxLevel = 0;
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      const L = r.level;
      this.level[i] = L;
      this.labels[i] = r.label;
      let w = r.value;
      if (this.diff) {
        // each side as a share of its own total, so ranges of other lengths compare
        const a = this.total ? r.value / this.total : 0;
        const b = this.totalRight ? r.valueRight / this.totalRight : 0;
        w = a + b;
        this.colors[i] = diffColor(a, b);
      } else {
        this.colors[i] = hashColor(r.label);
      }
      this.w[i] = w;
      this.x[i] = cursor[L] || 0;
      cursor[L] = this.x[i] + w;
      cursor[L + 1] = this.x[i];
      while (stack.length && this.level[stack[stack.length - 1]] >= L) this.end[stack.pop()] = i - 1;
      this.parent[i] = stack.length ? stack[stack.length - 1] : -1;
      stack.push(i);
      if (L > maxLevel) maxLevel = L;
    }
    while (stack.length) this.end[stack.pop()] = n - 1;
    this.maxLevel = maxLevel;
    // per level, the frames in x order (pre-order keeps them sorted)
    this.byLevel = Array.from({ length: maxLevel + 1 }, () => []);
    for (let i = 0; i < n; i++) this.byLevel[this.level[i]].push(i);
    this.zoom = 0;
    this.matched = null;
    this.render();
  }

  // the frames' labels from the root to the zoomed frame, for the URL
  zoomPath() {
    const path = [];
    for (let i = this.zoom; i > 0; i = this.parent[i]) path.unshift(this.labels[i]);
    return path;
  }

  zoomByPath(path) {
    let at = 0;
    for (const label of path || []) {
      let next = -1;
      for (let c = at + 1; c <= this.end[at]; c = this.end[c] + 1) {
        if (this.labels[c] === label) { next = c; break; }
      }
      if (next < 0) break;
      at = next;
    }
    this.zoom = at;
    this.render();
  }

  zoomTo(i) {
    this.zoom = i;
    this.render();
    this.onZoom(this.zoomPath());
  }

  reset() {
    this.zoomTo(0);
  }

  // highlight the frames whose name matches re (a RegExp or null); the share
  // of the total their stacks hold, each stack counted once
  setSearch(re) {
    if (!re || !this.n) {
      this.matched = null;
      this.render();
      return null;
    }
    this.matched = new Uint8Array(this.n);
    let sum = 0;
    let sumRight = 0;
    let insideUntil = -1;
    for (let i = 0; i < this.n; i++) {
      if (re.test(this.labels[i]) && i > 0) {
        this.matched[i] = 1;
        if (i > insideUntil) {
          sum += this.rows[i].value;
          sumRight += this.rows[i].valueRight || 0;
          insideUntil = this.end[i];
        }
      }
    }
    this.render();
    return this.diff ? { value: sum, valueRight: sumRight } : { value: sum };
  }

  render() {
    const canvas = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const width = this.container.clientWidth;
    const height = (this.n ? this.maxLevel + 1 : 1) * ROW;
    canvas.style.width = width + 'px';
    canvas.style.height = height + 'px';
    canvas.width = Math.max(1, Math.round(width * dpr));
    canvas.height = Math.max(1, Math.round(height * dpr));
    const ctx = this.ctx;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    this.stats = { drawn: 0, labelled: [] };
    if (!this.n || width <= 0) return;
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    const charW = ctx.measureText('m').width || 7;
    const z = this.zoom;
    const x0 = this.x[z];
    const scale = this.w[z] > 0 ? width / this.w[z] : 0;
    const draw = (i, px, pw) => {
      const y = this.level[i] * ROW;
      const dim = this.matched && !this.matched[i];
      ctx.fillStyle = this.matched && this.matched[i] ? 'hsl(290, 60%, 65%)' : dim ? 'hsl(0, 0%, 88%)' : this.colors[i];
      ctx.fillRect(px, y, Math.max(pw - 0.5, 0.5), ROW - 1);
      this.stats.drawn++;
      if (pw > 3 * charW) {
        const max = Math.floor((pw - 6) / charW);
        let text = this.labels[i];
        if (text.length > max) text = text.slice(0, Math.max(0, max - 1)) + '…';
        ctx.fillStyle = dim ? '#777' : '#111';
        ctx.fillText(text, px + 3, y + ROW / 2);
        if (this.stats.labelled.length < 5000) this.stats.labelled.push(this.labels[i]);
      }
      if (i === this.hover) {
        ctx.strokeStyle = '#000';
        ctx.strokeRect(px + 0.5, y + 0.5, Math.max(pw - 1.5, 0.5), ROW - 2);
      }
    };
    // the zoomed frame's ancestors span the width, as in pprof's view
    for (let a = this.parent[z]; a >= 0; a = this.parent[a]) draw(a, 0, width);
    for (let i = z; i <= this.end[z];) {
      const pw = this.w[i] * scale;
      if (pw < 0.5) {
        i = this.end[i] + 1;	// and every frame under it: narrower still
        continue;
      }
      draw(i, (this.x[i] - x0) * scale, pw);
      i++;
    }
  }

  hit(e) {
    if (!this.n) return -1;
    const rect = this.canvas.getBoundingClientRect();
    const px = e.clientX - rect.left;
    const L = Math.floor((e.clientY - rect.top) / ROW);
    if (L < 0 || L > this.maxLevel) return -1;
    const z = this.zoom;
    if (L < this.level[z]) {
      // an ancestor of the zoomed frame
      let a = z;
      while (a >= 0 && this.level[a] > L) a = this.parent[a];
      return a;
    }
    const v = this.x[z] + (px / this.container.clientWidth) * this.w[z];
    const list = this.byLevel[L];
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const i = list[mid];
      if (v < this.x[i]) hi = mid - 1;
      else if (v >= this.x[i] + this.w[i]) lo = mid + 1;
      else return i >= z && i <= this.end[z] ? i : -1;
    }
    return -1;
  }

  onMove(e) {
    const i = this.hit(e);
    if (i !== this.hover) {
      this.hover = i;
      this.render();
    }
    if (i < 0) return this.hideTip();
    const r = this.rows[i];
    const u = this.unit;
    let html = `<b>${escapeHTML(r.label)}</b><br>`;
    if (this.diff) {
      const a = this.total ? r.value / this.total : 0;
      const b = this.totalRight ? r.valueRight / this.totalRight : 0;
      html += `baseline: ${formatValue(r.value, u)} (${pct(r.value, this.total)})<br>` +
        `selection: ${formatValue(r.valueRight, u)} (${pct(r.valueRight, this.totalRight)})<br>` +
        `change: ${b >= a ? '+' : ''}${((b - a) * 100).toFixed(2)} points of the total`;
    } else {
      html += `total: ${formatValue(r.value, u)} (${pct(r.value, this.total)})<br>` +
        `self: ${formatValue(r.self, u)} (${pct(r.self, this.total)})`;
    }
    const t = this.tooltip;
    t.innerHTML = html;
    t.hidden = false;
    const pad = 14;
    let left = e.clientX + pad;
    if (left + t.offsetWidth > window.innerWidth) left = e.clientX - t.offsetWidth - pad;
    t.style.left = left + 'px';
    t.style.top = (e.clientY + pad) + 'px';
  }

  hideTip() {
    this.tooltip.hidden = true;
    if (this.hover >= 0) {
      this.hover = -1;
      this.render();
    }
  }
}

export function escapeHTML(s) {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
