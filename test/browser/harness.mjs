// What the browser tests share: "ok NAME" / "FAIL NAME: WHY" lines (the
// shell harness counts them) and Debian's Chromium, headless.
import puppeteer from 'puppeteer-core';

let failures = 0;

export function check(name, ok, why) {
  if (ok) console.log(`ok ${name}`);
  else {
    failures++;
    console.log(`FAIL ${name}: ${why}`);
  }
}

export function failed() {
  return failures;
}

export function launch(extraArgs = []) {
  return puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', ...extraArgs],
  });
}
