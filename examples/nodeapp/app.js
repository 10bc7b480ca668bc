// A small Node.js service profiled with Pyroscope's own SDK
// (@pyroscope/nodejs), pointed at profefe's collector: its wall-time and
// heap profiles arrive through POST /ingest as the service APP_NAME with
// its tags as labels. It burns CPU in two named functions so the profiles
// have something to show:
//   PROFEFE_URL   the collector (http://127.0.0.1:10100)
//   PROFEFE_TOKEN an API token with the write right (none with -auth none)
//   APP_NAME      the service name (nodeapp)
//   FLUSH_MS      how often the SDK sends (5000)
//   RUN_SECONDS   stop after this long (0: run until killed)
'use strict';
const Pyroscope = require('@pyroscope/nodejs');

const config = {
  serverAddress: process.env.PROFEFE_URL || 'http://127.0.0.1:10100',
  appName: process.env.APP_NAME || 'nodeapp',
  tags: { region: 'local', lang: 'node' },
  flushIntervalMs: Number(process.env.FLUSH_MS || 5000),
  wall: { samplingDurationMs: Number(process.env.FLUSH_MS || 5000) },
};
if (process.env.PROFEFE_TOKEN) config.authToken = process.env.PROFEFE_TOKEN;
Pyroscope.init(config);
Pyroscope.start();

// CPU: two functions with names to find in the profile
function fibonacciRecursive(n) {
  return n < 2 ? n : fibonacciRecursive(n - 1) + fibonacciRecursive(n - 2);
}

const kept = [];
function buildStrings(n) {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const v = 'item-' + i + '-' + Math.random().toString(36);
    s += v.length;
    if (i % 100 === 0) kept.push(v);
  }
  if (kept.length > 50000) kept.splice(0, 25000);
  return s;
}

function work() {
  fibonacciRecursive(25);
  buildStrings(20000);
  setImmediate(work);
}
work();

const runSeconds = Number(process.env.RUN_SECONDS || 0);
if (runSeconds > 0) {
  setTimeout(async () => {
    await Pyroscope.stop();   // flushes what it has
    process.exit(0);
  }, runSeconds * 1000);
}
process.on('SIGTERM', async () => { await Pyroscope.stop(); process.exit(0); });
