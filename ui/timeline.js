// The timeline above the flame graph: the total of the sample type per
// step (profefe's series endpoint), drawn with uPlot (a small, fast chart
// library from npm, served as /ui/uPlot.iife.min.js). Dragging across it
// selects a range.
import { formatValue } from './format.js';

export class Timeline {
  constructor(container, { onSelect } = {}) {
    this.container = container;
    this.onSelect = onSelect || (() => {});
    this.plot = null;
    new ResizeObserver(() => {
      if (this.plot) this.plot.setSize({ width: this.container.clientWidth, height: 120 });
    }).observe(container);
  }

  // points: [{bucket, profiles, value}]; from/to: epoch ms of the range shown
  setData(points, { unit, from, to }) {
    const xs = [];
    const ys = [];
    const ns = [];
    for (const p of points) {
      xs.push(Date.parse(p.bucket) / 1000);
      ys.push(p.value ?? null);
      ns.push(p.profiles);
    }
    if (this.plot) this.plot.destroy();
    const bars = window.uPlot.paths.bars({ size: [0.9, 40], align: 1 });
    const opts = {
      width: this.container.clientWidth,
      height: 120,
      tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      scales: { x: { time: true, range: () => [from / 1000, to / 1000] } },
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      axes: [
        { stroke: '#555', grid: { stroke: '#eee' } },
        { stroke: '#555', grid: { stroke: '#eee' }, size: 70, values: (u, vals) => vals.map((v) => formatValue(v, unit)) },
      ],
      series: [{}, { label: 'total', stroke: 'hsl(20, 75%, 50%)', fill: 'hsla(20, 75%, 55%, 0.45)', paths: bars, points: { show: false } }],
      hooks: {
        setSelect: [(u) => {
          if (u.select.width < 3) return;
          const a = u.posToVal(u.select.left, 'x') * 1000;
          const b = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
          u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
          this.onSelect(Math.floor(a), Math.ceil(b));
        }],
      },
    };
    this.points = points;
    this.profiles = ns.reduce((a, b) => a + b, 0);
    this.plot = new window.uPlot(opts, [xs, ys], this.container);
  }

  clear() {
    if (this.plot) this.plot.destroy();
    this.plot = null;
    this.points = [];
    this.profiles = 0;
  }
}
