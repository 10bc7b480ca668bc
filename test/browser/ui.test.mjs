// The web UI in headless Chromium (Debian's), driven with puppeteer-core
// (test/ui.sh runs it against a collector over a store of known profiles).
// Prints "ok NAME" or "FAIL NAME: WHY" per check; screenshots (1280x800)
// go to OUT.
//   node ui.test.mjs URL EXPECT.json OUT_DIR [DOWN_URL]
// EXPECT holds what SQL says of the same merges (pprof_total, pprof_top,
// pprof_focus_total), computed by test/ui.sh; DOWN_URL is a collector whose
// database is unreachable.
import fs from 'node:fs';
import { check, failed, launch } from './harness.mjs';

const [base, expectFile, out, downURL] = process.argv.slice(2);
const want = JSON.parse(fs.readFileSync(expectFile, 'utf8'));
const browser = await launch(['--window-size=1280,800']);
const pageErrors = [];

async function open(url) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  page.on('pageerror', (e) => pageErrors.push(`${url}: ${e.message}`));
  await page.goto(url, { waitUntil: 'load' });
  await settled(page);
  return page;
}

// the UI marks body[data-state] loading / ready / error
async function settled(page) {
  await page.waitForFunction(() => document.body.dataset.state !== 'loading', { timeout: 20000 });
  return page.evaluate(() => document.body.dataset.state);
}

async function shot(page, name) {
  await page.screenshot({ path: `${out}/ui-${name}.png` });
}

// what the page shows: the flame graph's root, the top table's first rows
async function shown(page) {
  return page.evaluate(() => {
    const f = window.profefeUI.flame;
    const rows = [...document.querySelectorAll('#top tbody tr[data-func]')].slice(0, 5)
      .map((tr) => tr.dataset.func);
    return {
      state: document.body.dataset.state,
      error: document.getElementById('error').textContent,
      root: f.n ? f.rows[0] : null,
      frames: f.n,
      drawn: f.stats.drawn,
      labelled: f.stats.labelled.slice(0, 200),
      topFuncs: rows,
      topFlat: window.profefeUI.top.rows.slice(0, 5).map((r) => [r.func, r.flat]),
      summary: document.getElementById('summary').textContent,
      search: document.getElementById('search-result').textContent,
      zoom: document.getElementById('zoom-path').textContent,
      url: location.href,
    };
  });
}

const sel = `service=shop&type=cpu&from=${want.from}&to=${want.to}`;

// 1. pick everything through the controls, starting from the bare page
{
  const page = await open(`${base}/`);
  await page.select('#service', 'shop');
  await settled(page);
  await page.select('#type', 'cpu');
  await settled(page);
  await page.$eval('#from', (e, v) => { e.value = v; }, want.from);
  await page.$eval('#to', (e, v) => { e.value = v; }, want.to);
  await page.$eval('#labels', (e) => { e.value = ''; });
  await page.click('#apply');
  await settled(page);
  const s = await shown(page);
  await shot(page, 'picked');
  check('picked through the UI: ready', s.state === 'ready', `${s.state} ${s.error}`);
  check('flame graph root is the merge\'s pprof_total', s.root && s.root.label === 'total' && s.root.value === want.total,
    `root ${JSON.stringify(s.root)}, want ${want.total}`);
  check('top table\'s first rows are pprof_top\'s', JSON.stringify(s.topFlat) === JSON.stringify(want.top),
    `${JSON.stringify(s.topFlat)} want ${JSON.stringify(want.top)}`);
  check('the flame graph drew frames, named', s.drawn > 20 && s.labelled.includes('runtime.main') && s.labelled.includes('total'),
    `${s.drawn} drawn, labelled ${s.labelled.slice(0, 10)}`);
  check('the URL holds the picks', s.url.includes('service=shop') && s.url.includes('type=cpu') &&
    s.url.includes(`from=${encodeURIComponent(want.from)}`), s.url);

  // the sample type picker lists the profile's types
  const types = await page.$$eval('#sample-type option', (os) => os.map((o) => o.value));
  check('sample types listed', JSON.stringify(types) === JSON.stringify(want.sample_types), JSON.stringify(types));

  // labels with autocomplete: keys, then values
  await page.focus('#labels');
  await page.keyboard.type('zo');
  await page.waitForFunction(() => document.querySelectorAll('#label-suggest option').length > 0, { timeout: 5000 }).catch(() => {});
  const keys = await page.$$eval('#label-suggest option', (os) => os.map((o) => o.value));
  check('label keys suggested', keys.includes('zone=') && keys.includes('instance='), JSON.stringify(keys));
  await page.$eval('#labels', (e) => { e.value = ''; });
  await page.keyboard.type('zone=');
  await page.waitForFunction(() => [...document.querySelectorAll('#label-suggest option')].some((o) => o.value === 'zone=a'), { timeout: 5000 }).catch(() => {});
  const vals = await page.$$eval('#label-suggest option', (os) => os.map((o) => o.value));
  check('label values suggested', vals.includes('zone=a') && vals.includes('zone=b'), JSON.stringify(vals));
  await page.$eval('#labels', (e) => { e.value = 'zone=a'; });
  await page.click('#apply');
  await settled(page);
  const a = await shown(page);
  check('labels filter the merge', a.root && a.root.value === want.total_a, `root ${JSON.stringify(a.root)}, want ${want.total_a}`);
  await shot(page, 'labels');
  await page.close();
}

// 2. zoom, search, click in the top table, then the URL round trip
{
  const page = await open(`${base}/?${sel}`);
  const target = await page.evaluate(() => {
    const f = window.profefeUI.flame;
    const i = f.labels.indexOf('main.main');
    const rect = f.canvas.getBoundingClientRect();
    const z = f.zoom;
    const x = rect.left + ((f.x[i] - f.x[z] + f.w[i] / 2) / f.w[z]) * f.container.clientWidth;
    const y = rect.top + f.level[i] * 18 + 9;
    return { i, x, y, value: f.rows[i] && f.rows[i].value };
  });
  await page.evaluate((y) => document.querySelector('.flame-box .scroll').scrollTo(0, 0), 0);
  await page.mouse.move(target.x, target.y);
  const tip = await page.$eval('#tooltip', (t) => (t.hidden ? '' : t.textContent));
  check('hovering shows the frame\'s name, value and share', tip.includes('main.main') && tip.includes('%'), JSON.stringify(tip));
  await page.mouse.click(target.x, target.y);
  const z = await shown(page);
  await shot(page, 'zoomed');
  check('clicking a frame zooms into it', z.zoom.endsWith('main.main') && z.url.includes('zoom='), `${z.zoom} ${z.url}`);
  check('zoomed: only its subtree and ancestors drawn', z.labelled.includes('main.main') && !z.labelled.includes('runtime.gcBgMarkWorker'),
    JSON.stringify(z.labelled.slice(0, 20)));

  await page.$eval('#search', (e) => { e.value = ''; });
  await page.type('#search', 'sha256');
  const s = await shown(page);
  const matched = await page.evaluate(() => {
    const f = window.profefeUI.flame;
    let n = 0;
    for (let i = 0; i < f.n; i++) if (f.matched && f.matched[i]) n++;
    return n;
  });
  await shot(page, 'search');
  check('search highlights the matching frames', matched > 0, `${matched} matched`);
  const found = await page.evaluate(() => window.profefeUI.lastSearch);
  check('search: the matched stacks hold what pprof_focus_total gives', found && found.value === want.focus && s.search.startsWith('matched: '),
    `${JSON.stringify(found)} "${s.search}" want ${want.focus}`);

  // the top table: sorting by cum, filtering, a click that focuses the flame graph
  await page.click('#top th[data-key="cum"]');
  const firstCum = await page.$eval('#top tbody tr[data-func] td:last-child', (td) => td.textContent);
  check('sorting by cum puts the root-most function first', firstCum === want.top_cum_first, `${firstCum} want ${want.top_cum_first}`);
  await page.type('#top-filter', 'sha256.block');
  const filtered = await page.$$eval('#top tbody tr[data-func]', (trs) => trs.map((t) => t.dataset.func));
  check('filtering the top table', filtered.length >= 1 && filtered.every((f) => f.includes('sha256.block')), JSON.stringify(filtered));
  await page.click('#top tbody tr[data-func]');
  const picked = await shown(page);
  check('clicking a function highlights it in the flame graph', picked.url.includes('search=') &&
    (await page.$eval('#search', (e) => e.value)) === '^crypto/sha256\\.block$', picked.url);

  // the same URL in a new page: the same view
  const url = picked.url;
  const again = await open(url);
  const r = await shown(again);
  await shot(again, 'roundtrip');
  check('URL round trip: same range, zoom and search', r.root && r.root.value === want.total && r.zoom === z.zoom &&
    (await again.$eval('#search', (e) => e.value)) === '^crypto/sha256\\.block$', `${JSON.stringify(r.root)} ${r.zoom}`);
  // the go tool pprof command and the download link
  const cmd = await again.$eval('#command', (e) => e.textContent);
  const href = await again.$eval('#download', (e) => e.href);
  check('download link and go tool pprof command', href.includes('/api/0/profiles/merge?') && cmd.startsWith('go tool pprof -http=: ') &&
    cmd.includes(href), `${href} | ${cmd}`);
  await again.close();
  await page.close();
}

// 3. comparing: zone a against zone b
{
  const page = await open(`${base}/?${sel}&labels=zone%3Da&compare=custom&base_labels=zone%3Db`);
  const s = await shown(page);
  await shot(page, 'diff');
  const d = await page.evaluate(() => ({ diff: window.profefeUI.flame.diff, total: window.profefeUI.flame.total, right: window.profefeUI.flame.totalRight,
    head: [...document.querySelectorAll('#top th')].map((t) => t.textContent) }));
  check('comparison: both sides\' totals', s.state === 'ready' && d.diff && d.total === want.total_b && d.right === want.total_a,
    `${JSON.stringify(d)} want ${want.total_b} / ${want.total_a}`);
  check('comparison: the top table shows the change', d.head.some((h) => h.startsWith('change')) && d.head.some((h) => h.startsWith('base flat%')), JSON.stringify(d.head));
  const cmd = await page.$eval('#command', (e) => e.textContent);
  check('comparison: the command has -diff_base', cmd.includes('-diff_base=') && cmd.includes('labels=zone%3Db'), cmd);
  await page.close();
}

// 4. errors people can act on
{
  let page = await open(`${base}/?service=shop&type=cpu&from=2001-01-01T00:00:00Z&to=2001-01-02T00:00:00Z`);
  let s = await shown(page);
  await shot(page, 'error-empty');
  check('no data: says so', s.state === 'error' && /no cpu profiles of shop/.test(s.error), `${s.state} ${s.error}`);
  await page.close();
  page = await open(`${base}/?service=shop&type=cpu&from=2026-11-21T00:00:00Z&to=2026-11-20T00:00:00Z`);
  s = await shown(page);
  check('a range backwards: says so', s.state === 'error' && /after/.test(s.error), `${s.state} ${s.error}`);
  await page.close();
  page = await open(`${base}/?service=shop&type=cpu&from=yesterday&to=now`);
  s = await shown(page);
  check('a bad time: says so', s.state === 'error' && /bad range/.test(s.error), `${s.state} ${s.error}`);
  await page.close();
  if (downURL) {
    page = await open(`${downURL}/?${sel}`);
    s = await shown(page);
    await shot(page, 'error-db-down');
    check('database down: says so', s.state === 'error' && /database (is )?unavailable/.test(s.error), `${s.state} ${s.error}`);
    await page.close();
  }
}

check('no page errors', pageErrors.length === 0, pageErrors.join('; '));
await browser.close();
process.exit(failed() ? 1 : 0);
