// Values for people, as go tool pprof prints them: nanoseconds as time,
// bytes in binary units, counts as they are.
const TIME = [['ns', 1], ['us', 1e3], ['ms', 1e6], ['s', 1e9], ['m', 60e9], ['h', 3600e9]];
const BYTES = [['B', 1], ['kB', 1024], ['MB', 1024 ** 2], ['GB', 1024 ** 3], ['TB', 1024 ** 4]];

function scaled(v, steps) {
  const a = Math.abs(v);
  let [u, f] = steps[0];
  for (const [su, sf] of steps) if (a >= sf) [u, f] = [su, sf];
  const x = v / f;
  const s = Math.abs(x) >= 100 || Number.isInteger(x) ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2);
  return s + u;
}

export function formatValue(v, unit) {
  if (v == null || Number.isNaN(v)) return '';
  switch (unit) {
    case 'nanoseconds': return scaled(v, TIME);
    case 'microseconds': return scaled(v * 1e3, TIME);
    case 'milliseconds': return scaled(v * 1e6, TIME);
    case 'seconds': return scaled(v * 1e9, TIME);
    case 'bytes': return scaled(v, BYTES);
    default: return Math.abs(v) >= 1e6 ? v.toExponential(2) : String(v);
  }
}

export function pct(v, total) {
  if (!total) return '0%';
  const p = (v * 100) / total;
  return (Math.abs(p) >= 10 ? p.toFixed(1) : p.toFixed(2)) + '%';
}

// 2026-12-01T10:00:00Z from a Date or epoch milliseconds, seconds precision
export function isoUTC(t) {
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// "2026-12-01 10:00 UTC" for labels
export function shortUTC(t) {
  return new Date(t).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

export function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
