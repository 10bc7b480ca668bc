// Grafana's own Flame Graph component (@grafana/flamegraph 11.3.1, bundled
// by test/grafana.sh from test/grafana/entry.jsx) drawing the rows
// pprof_flamegraph_rows returns, in headless Chromium: the rows pass its
// checkFields, its top table (its own aggregation of our nested set) lists
// pprof_top's functions with pprof_top's flat values, and the canvas is
// drawn; the same for a comparison (selfRight/valueRight).
//   node grafana.test.mjs BUNDLE_DIR ROWS.json DIFF_ROWS.json EXPECT.json OUT_DIR
import fs from 'node:fs';
import { check, failed, launch } from './harness.mjs';

const [dir, rowsFile, diffFile, expectFile, out] = process.argv.slice(2);
const want = JSON.parse(fs.readFileSync(expectFile, 'utf8'));
const browser = await launch(['--allow-file-access-from-files']);

async function mount(name, rowsJSON) {
  const html = `${dir}/${name}.html`;
  fs.writeFileSync(html, `<!doctype html><html><body style="margin:0"><div id="root"></div>
<script>window.PROFEFE_ROWS = ${rowsJSON};</script><script src="bundle.js"></script></body></html>`);
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`file://${html}`);
  await page.waitForFunction(() => window.profefeMounted, { timeout: 20000 });
  await page.waitForFunction(() => document.body.innerText.includes('Symbol'), { timeout: 20000 }).catch(() => {});
  await new Promise((r) => setTimeout(r, 500));
  const seen = await page.evaluate(() => {
    // the top table's rows: symbol, self, total
    const cells = [...document.querySelectorAll('[role="row"]')].map((r) => [...r.querySelectorAll('[role="cell"]')].map((c) => c.innerText.trim()));
    // the flame graph canvas: how many of its pixels are painted, in how many colours
    let painted = 0;
    const colours = new Set();
    for (const c of document.querySelectorAll('canvas')) {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] > 0 && !(d[i] > 245 && d[i + 1] > 245 && d[i + 2] > 245)) {
          painted++;
          if (colours.size < 1000) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        }
      }
    }
    return { check: window.profefeCheck, cells: cells.filter((c) => c.length >= 3), painted, colours: colours.size, text: document.body.innerText.slice(0, 300) };
  });
  await page.screenshot({ path: `${out}/grafana-${name}.png` });
  await page.close();
  return { ...seen, errors };
}

const one = await mount('flamegraph', fs.readFileSync(rowsFile, 'utf8'));
check('Grafana accepts the rows (checkFields)', one.check === null, JSON.stringify(one.check));
check('Grafana mounts them without errors', one.errors.length === 0, one.errors.join('; '));
// the table's symbols with the largest self, in order, are pprof_top's (where flat values differ)
const symbols = one.cells.map((c) => c.find((x) => /[a-z]/.test(x) && !/^[\d.]+ ?[a-zµ]*$/i.test(x)));
const distinct = [];
for (let i = 0; i < want.top.length && i < 8; i++) {
  if (i + 1 < want.top.length && want.top[i + 1][1] === want.top[i][1]) break;
  distinct.push(want.top[i][0]);
}
check("Grafana's top table (its sum of our rows' self) orders functions as pprof_top's flat", distinct.length >= 3 &&
  JSON.stringify(symbols.slice(0, distinct.length)) === JSON.stringify(distinct), `${JSON.stringify(symbols.slice(0, 8))} want ${JSON.stringify(distinct)}`);
check('Grafana drew the flame graph', one.painted > 20000 && one.colours > 10, `${one.painted} px in ${one.colours} colours`);

const two = await mount('flamegraph-diff', fs.readFileSync(diffFile, 'utf8'));
check('Grafana accepts the comparison rows (checkFields)', two.check === null, JSON.stringify(two.check));
check('Grafana mounts the comparison without errors', two.errors.length === 0, two.errors.join('; '));
check('Grafana drew the comparison', two.painted > 20000 && two.colours > 10, `${two.painted} px in ${two.colours} colours`);

await browser.close();
process.exit(failed() ? 1 : 0);
