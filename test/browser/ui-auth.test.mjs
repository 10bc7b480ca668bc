// The web UI behind tokens (test/ui.sh runs it against a collector with
// -auth tokens): without credentials the page is a 401 with a Basic
// challenge (what makes a browser ask); with the token as the Basic
// password (what a person types into that prompt; puppeteer answers it) the
// UI loads, and its API calls carry the same credentials and show the
// token's tenant's data; a wrong token gets 401 again.
//   node ui-auth.test.mjs URL TOKEN SELECTION OUT_DIR
import { check, failed, launch } from './harness.mjs';

const [base, token, sel, out] = process.argv.slice(2);
const browser = await launch(['--window-size=1280,800']);

// (headless Chromium cannot show the prompt: it ends such a navigation with
// ERR_INVALID_AUTH_CREDENTIALS, so the challenge itself is read with fetch)
const bare = await fetch(`${base}/`);
check('no credentials: 401 with a Basic challenge', bare.status === 401 &&
      /Basic realm="profefe"/.test(bare.headers.get('www-authenticate') || ''),
      `${bare.status} ${bare.headers.get('www-authenticate')}`);
let page = await browser.newPage();
let resp = await page.goto(`${base}/`, { waitUntil: 'load' }).catch((e) => e);
check('no credentials in the browser: the page is refused', resp instanceof Error ?
      /ERR_INVALID_AUTH_CREDENTIALS/.test(resp.message) : resp.status() === 401, String(resp));
await page.close();

page = await browser.newPage();
await page.setViewport({ width: 1280, height: 800 });
const apiStatus = [];
page.on('response', (r) => { if (r.url().includes('/api/0/')) apiStatus.push(r.status()); });
await page.authenticate({ username: 'someone', password: token });
resp = await page.goto(`${base}/?${sel}`, { waitUntil: 'load' });
await page.waitForFunction(() => document.body.dataset.state !== 'loading', { timeout: 20000 });
const state = await page.evaluate(() => ({
  state: document.body.dataset.state,
  services: [...document.querySelectorAll('#service option')].map((o) => o.value),
  root: window.profefeUI.flame && window.profefeUI.flame.n ? window.profefeUI.flame.rows[0] : null,
}));
check('the token as the Basic password: the UI loads', resp.status() === 200 && state.state === 'ready',
      `${resp.status()} ${JSON.stringify(state)}`);
check("its API calls are authenticated and show the token's tenant", apiStatus.length > 0 &&
      apiStatus.every((s) => s === 200) && state.services.includes('shop') && state.root && state.root.value > 0,
      `${JSON.stringify(apiStatus)} ${JSON.stringify(state)}`);
const cmd = await page.$eval('#command', (e) => e.textContent);
check('the go tool pprof command takes the token from $PROFEFE_TOKEN', cmd.includes('//u:${PROFEFE_TOKEN}@'), cmd);
console.log(`CMD ${cmd}`);
await page.screenshot({ path: `${out}/ui-auth.png` });
await page.close();

// a fresh context: the first one's browser keeps the good credentials for the origin
page = await (await browser.createBrowserContext()).newPage();
await page.authenticate({ username: 'someone', password: token.replace(/.$/, (c) => (c === '0' ? '1' : '0')) });
resp = await page.goto(`${base}/`, { waitUntil: 'load' }).catch((e) => e);
check('a wrong token: refused again', resp instanceof Error ? /ERR_INVALID_AUTH_CREDENTIALS/.test(resp.message) :
      resp.status() === 401, String(resp instanceof Error ? resp.message : resp.status()));
await browser.close();
process.exit(failed() ? 1 : 0);
