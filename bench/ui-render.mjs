// bench/ui.sh: from navigation to the UI's ready state (flame graph and top
// table drawn), and the UI's own split: fetching the views, then drawing.
//   node ui-render.mjs URL RUNS "name|query" ...
import puppeteer from 'puppeteer-core';

const [base, runs, ...cases] = process.argv.slice(2);
const browser = await puppeteer.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
console.log(`${''.padEnd(56)} ${'ready'.padStart(9)} ${'fetch'.padStart(9)} ${'draw'.padStart(9)} ${'frames'.padStart(8)}`);
for (const c of cases) {
  const [name, q] = c.split('|');
  const total = [], fetch = [], draw = [];
  let frames = 0;
  for (let i = 0; i < Number(runs); i++) {
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    const t0 = Date.now();
    await page.goto(`${base}/?${q}`);
    await page.waitForFunction(() => document.body.dataset.state !== 'loading', { timeout: 120000, polling: 'raf' });
    total.push(Date.now() - t0);
    const t = await page.evaluate(() => window.profefeUI.timings);
    if (!t) throw new Error(`${name}: ${await page.evaluate(() => document.getElementById('error').textContent)}`);
    fetch.push(t.fetch_ms);
    draw.push(t.render_ms);
    frames = t.frames;
    await page.close();
  }
  console.log(`${name.padEnd(56)} ${(median(total) / 1000).toFixed(3).padStart(8)}s ${(median(fetch) / 1000).toFixed(3).padStart(8)}s ${(median(draw) / 1000).toFixed(3).padStart(8)}s ${String(frames).padStart(8)}`);
}
await browser.close();
