// OTLP profiles requests for test/otlp.sh, encoded by protobufjs (not by
// profefe's protobuf-c code) from src/collector/proto/otlp_profiles.proto.
//
//   node gen.js build DIR T0     writes DIR/*.bin requests and DIR/main.expected
//   node gen.js status FILE      a google.rpc.Status reply: "CODE MESSAGE"
//   node gen.js response FILE    an ExportProfilesServiceResponse: "REJECTED MESSAGE"
//
// The main request is what a host's agents send: three resources sharing
// one dictionary; the eBPF profiler's cpu profile (samples/count every
// 50 ms of cpu) with inlined, unsymbolized and kernel frames, sample
// attributes, a trace link, samples given as values, as timestamps and as
// both; an off-CPU profile of the same process; Go's heap profile as four
// OTLP profiles; and a host-wide profile whose samples name their own
// services. main.expected is what profefe must store for it, worked out
// here from the model below (not from profefe's converter): per profile a
// "== service type labels" line, then `pprofref samples` lines, sorted.
'use strict';

const fs = require('fs');
const path = require('path');
const protobuf = require('protobufjs');

const PROTO = path.join(__dirname, '..', '..', 'src', 'collector', 'proto', 'otlp_profiles.proto');
const root = protobuf.loadSync(PROTO);
const Request = root.lookupType('otlp.ExportProfilesServiceRequest');
const Response = root.lookupType('otlp.ExportProfilesServiceResponse');
const Status = root.lookupType('otlp.Status');

// ---- a dictionary, index 0 the zero value of every table ----
class Dict {
  constructor() {
    this.strings = [''];
    this.smap = new Map([['', 0]]);
    this.mappings = [{}];
    this.locations = [{}];
    this.functions = [{}];
    this.links = [{ traceId: Buffer.alloc(16), spanId: Buffer.alloc(8) }];
    this.attributes = [{}];
    this.stacks = [{}];
    this.keys = new Map();
  }
  str(s) {
    if (!this.smap.has(s)) { this.smap.set(s, this.strings.length); this.strings.push(s); }
    return this.smap.get(s);
  }
  add(table, value) {
    const k = table + JSON.stringify(value);
    if (!this.keys.has(k)) { this.keys.set(k, this[table].length); this[table].push(value); }
    return this.keys.get(k);
  }
  fn(name, file) { return this.add('functions', { nameStrindex: this.str(name), filenameStrindex: this.str(file || ''), startLine: 1 }); }
  mapping(file, buildId) {
    const m = { memoryStart: 0x400000, memoryLimit: 0x800000, fileOffset: 0, filenameStrindex: this.str(file) };
    if (buildId) m.attributeIndices = [this.attr('process.executable.build_id.gnu', buildId)];
    return this.add('mappings', m);
  }
  // a frame: {lines: [[fn, file, line], ...]} (inlined callees first) or {address, mapping}
  loc(frame) {
    const l = {};
    if (frame.mapping) l.mappingIndex = frame.mapping;
    if (frame.address) l.address = frame.address;
    if (frame.lines) l.lines = frame.lines.map(([f, file, line]) => ({ functionIndex: this.fn(f, file), line }));
    if (frame.kernel) l.attributeIndices = [this.attr('profile.frame.type', 'kernel')];
    return this.add('locations', l);
  }
  stack(frames) { return this.add('stacks', { locationIndices: frames.map((f) => this.loc(f)) }); }
  attr(key, value, unit) {
    const v = typeof value === 'number' ? { intValue: value } : { stringValue: value };
    const a = { keyStrindex: this.str(key), value: v };
    if (unit) a.unitStrindex = this.str(unit);
    return this.add('attributes', a);
  }
  link(trace, span) { return this.add('links', { traceId: Buffer.from(trace, 'hex'), spanId: Buffer.from(span, 'hex') }); }
  message() {
    return {
      mappingTable: this.mappings, locationTable: this.locations, functionTable: this.functions,
      linkTable: this.links, stringTable: this.strings, attributeTable: this.attributes, stackTable: this.stacks,
    };
  }
}

// ---- expected output, as pprofref samples prints it ----
const frameNames = (f) => (f.lines ? f.lines.map((l) => l[0]) : ['0x' + f.address.toString(16)]);
const stackText = (frames) => frames.flatMap(frameNames).join(';');
function labelText(attrs, link) {
  const r = [];
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'service.name') continue;
    if (Array.isArray(v)) r.push([k, `${k}={"unit": ${JSON.stringify(v[1])}, "value": ${v[0]}}`]);
    else if (typeof v === 'number') r.push([k, `${k}=${v}`]);
    else r.push([k, `${k}=${JSON.stringify(v)}`]);
  }
  if (link) { r.push(['trace_id', `trace_id="${link[0]}"`]); r.push(['span_id', `span_id="${link[1]}"`]); }
  return r.sort((a, b) => (a[0] < b[0] ? -1 : 1)).map((x) => x[1]).join(',');
}
// jsonb's text form: keys shorter first, then bytewise
function jsonbText(obj) {
  const keys = Object.keys(obj).sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
  return '{' + keys.map((k) => `${JSON.stringify(k)}: ${JSON.stringify(obj[k])}`).join(', ') + '}';
}

function build(dir, t0) {
  const d = new Dict();
  const T = BigInt(t0) * 1000000000n;
  const expected = [];
  const sampleMsg = (s) => {
    const m = { stackIndex: d.stack(s.stack) };
    const attrs = Object.entries(s.attrs || {}).map(([k, v]) => (Array.isArray(v) ? d.attr(k, v[0], v[1]) : d.attr(k, v)));
    if (attrs.length) m.attributeIndices = attrs;
    if (s.link) m.linkIndex = d.link(s.link[0], s.link[1]);
    if (s.values) m.values = s.values;
    if (s.ts) m.timestampsUnixNano = s.ts.map((x) => (T + BigInt(x)).toString());
    return m;
  };
  const total = (s) => (s.values ? s.values.reduce((a, b) => a + b, 0) : s.ts.length);
  const resAttrs = (o) => Object.entries(o).map(([k, v]) => (typeof v === 'number' ? { key: k, value: { intValue: v } } : { key: k, value: { stringValue: v } }));

  // frames
  const main = { lines: [['main.main', '/src/main.go', 12]] };
  const serve = { lines: [['net/http.(*conn).serve', '/go/net/http/server.go', 1995]] };
  const inl = { lines: [['runtime.memmove', '/go/runtime/memmove.s', 40], ['shop.(*Cart).Add', '/src/cart.go', 88]] };
  const libc = d.mapping('/usr/lib/x86_64-linux-gnu/libc.so.6', 'c0ffee00112233445566778899aabbccddeeff00');
  const unsym = { address: 0x4011a0, mapping: libc };
  const kernel = { lines: [['do_syscall_64', '', 0]], kernel: true };
  const futex = { lines: [['futex_wait', '', 0]], kernel: true };

  // 1. the eBPF profiler: cpu and off-CPU of one process
  const PERIOD = 50000000;
  const cpuSamples = [
    { stack: [inl, serve, main], attrs: { 'thread.name': 'worker-1' }, values: [3] },
    { stack: [inl, serve, main], attrs: { 'thread.name': 'worker-1' }, ts: [10, 20] },
    { stack: [unsym, main], attrs: { 'thread.name': 'worker-2' }, link: ['5b8efff798038103d269b633813fc60c', 'eee19b7ec3c1b174'], values: [2] },
    { stack: [kernel, main], attrs: { 'thread.name': 'worker-1', 'cpu.id': [3, 'count'] }, values: [1, 1, 1], ts: [1, 2, 3] },
  ];
  const offSamples = [{ stack: [futex, main], attrs: { 'thread.name': 'worker-1' }, values: [1200000] }];
  const shopAttrs = { 'service.name': 'otel-shop', 'host.name': 'h1', 'deployment.environment': 'prod', 'k8s.pod.name': 'shop-7f', 'process.pid': 4242 };
  const shopLabels = { 'host.name': 'h1', 'deployment.environment': 'prod', 'k8s.pod.name': 'shop-7f', 'process.pid': '4242' };
  const cpuType = { typeStrindex: d.str('samples'), unitStrindex: d.str('count') };
  const cpuPeriod = { typeStrindex: d.str('cpu'), unitStrindex: d.str('nanoseconds') };
  const rp1 = {
    resource: { attributes: resAttrs(shopAttrs) },
    scopeProfiles: [{
      scope: { name: 'go.opentelemetry.io/ebpf-profiler', version: '0.0.1' },
      profiles: [
        { sampleType: cpuType, periodType: cpuPeriod, period: PERIOD, timeUnixNano: T.toString(), durationNano: 5000000000, samples: cpuSamples.map(sampleMsg) },
        { sampleType: { typeStrindex: d.str('off_cpu'), unitStrindex: d.str('nanoseconds') }, timeUnixNano: T.toString(), durationNano: 5000000000, samples: offSamples.map(sampleMsg) },
      ],
    }],
  };
  {
    // identical stacks and attributes add up: samples 0 and 1 are one
    const rows = new Map();
    for (const s of cpuSamples) {
      const k = stackText(s.stack) + '|' + labelText(s.attrs, s.link);
      rows.set(k, (rows.get(k) || 0) + total(s));
    }
    expected.push({ head: `otel-shop cpu ${jsonbText(shopLabels)}`, lines: [...rows].map(([k, n]) => `${n},${n * PERIOD}|${k}`) });
    expected.push({ head: `otel-shop other ${jsonbText(shopLabels)}`, lines: offSamples.map((s) => `${total(s)}|${stackText(s.stack)}|${labelText(s.attrs)}`) });
  }

  // 2. Go's heap profile as four OTLP profiles, no service.name: unknown_service:EXE
  const alloc = { lines: [['bytes.growSlice', '/go/bytes/buffer.go', 249]] };
  const hstackX = [alloc, { lines: [['worker.(*Queue).Push', '/src/queue.go', 31]] }, main];
  const hstackY = [alloc, { lines: [['worker.decode', '/src/decode.go', 7]] }, main];
  const heapTypes = [['alloc_objects', 'count'], ['alloc_space', 'bytes'], ['inuse_objects', 'count'], ['inuse_space', 'bytes']];
  const heapVals = { X: [40, 40960, 4, 4096], Y: [10, 5120, 0, 0] };
  const rp2 = {
    resource: { attributes: resAttrs({ 'process.executable.name': 'pyworker', 'host.name': 'h1' }) },
    scopeProfiles: [{
      profiles: heapTypes.map(([t, u], i) => ({
        sampleType: { typeStrindex: d.str(t), unitStrindex: d.str(u) },
        periodType: { typeStrindex: d.str('space'), unitStrindex: d.str('bytes') }, period: 524288,
        timeUnixNano: (T + 1000000000n).toString(),
        attributeIndices: [d.attr('profile.source', 'go')],
        samples: [{ stack: hstackX, values: [heapVals.X[i]] }, ...(heapVals.Y[i] ? [{ stack: hstackY, values: [heapVals.Y[i]] }] : [])].map(sampleMsg),
      })),
    }],
  };
  expected.push({
    head: `unknown_service:pyworker heap ${jsonbText({ 'process.executable.name': 'pyworker', 'host.name': 'h1', 'profile.source': 'go' })}`,
    lines: [`${heapVals.X.join(',')}|${stackText(hstackX)}|`, `${heapVals.Y.join(',')}|${stackText(hstackY)}|`],
  });

  // 3. a host-wide agent: samples carry their own service.name
  const hostSamples = [
    { stack: [{ lines: [['a.handle', '/a.go', 1]] }, main], attrs: { 'service.name': 'svc-a' }, values: [7] },
    { stack: [{ lines: [['b.handle', '/b.go', 1]] }, main], attrs: { 'service.name': 'svc-b' }, values: [2] },
    { stack: [{ lines: [['a.handle', '/a.go', 1]] }, main], attrs: { 'service.name': 'svc-a' }, values: [1] },
    { stack: [{ lines: [['sshd', '', 0]] }], values: [4] },
  ];
  const rp3 = {
    resource: { attributes: resAttrs({ 'service.name': 'node-host', 'host.name': 'h2' }) },
    scopeProfiles: [{ profiles: [{ sampleType: cpuType, periodType: cpuPeriod, period: PERIOD, timeUnixNano: (T + 2000000000n).toString(), samples: hostSamples.map(sampleMsg) }] }],
  };
  for (const svc of ['svc-a', 'svc-b', 'node-host']) {
    const rows = new Map();
    for (const s of hostSamples.filter((x) => ((x.attrs || {})['service.name'] || 'node-host') === svc)) {
      const k = stackText(s.stack) + '|' + labelText(s.attrs);
      rows.set(k, (rows.get(k) || 0) + total(s));
    }
    expected.push({ head: `${svc} cpu ${jsonbText({ 'host.name': 'h2' })}`, lines: [...rows].map(([k, n]) => `${n},${n * PERIOD}|${k}`) });
  }

  const req = { resourceProfiles: [rp1, rp2, rp3], dictionary: d.message() };
  const write = (name, obj) => {
    const m = Request.fromObject(obj);
    const err = Request.verify(m);
    if (err) throw new Error(name + ': ' + err);
    fs.writeFileSync(path.join(dir, name), Request.encode(m).finish());
  };
  write('main.bin', req);
  const exp = expected.sort((a, b) => (a.head < b.head ? -1 : 1))
    .map((e) => `== ${e.head}\n` + e.lines.sort().join('\n')).join('\n') + '\n';
  fs.writeFileSync(path.join(dir, 'main.expected'), exp);
  fs.writeFileSync(path.join(dir, 'main.count'), `${expected.length}\n`);

  // a second, small request (sent gzip): one cpu profile an hour later
  const small = JSON.parse(JSON.stringify(req, (k, v) => (typeof v === 'bigint' ? v.toString() : v)));
  small.resourceProfiles = [rp3];
  small.resourceProfiles[0] = JSON.parse(JSON.stringify(rp3));
  small.resourceProfiles[0].scopeProfiles[0].profiles[0].timeUnixNano = (T + 3600000000000n).toString();
  small.dictionary = d.message();
  write('small.bin', small);

  // partial success: one resource over profefe.max_labels (30), the other fine
  const many = {};
  for (let i = 0; i < 35; i++) many['k' + i] = 'v' + i;
  const partial = {
    resourceProfiles: [
      { resource: { attributes: resAttrs({ 'service.name': 'too-many', ...many }) }, scopeProfiles: [{ profiles: [rp1.scopeProfiles[0].profiles[0]] }] },
      { resource: { attributes: resAttrs({ 'service.name': 'fine' }) }, scopeProfiles: [{ profiles: [rp1.scopeProfiles[0].profiles[1]] }] },
    ],
    dictionary: d.message(),
  };
  write('partial.bin', partial);

  // malformed requests: each must be refused whole (400), nothing stored
  const bad = (name, mutate) => {
    const r = JSON.parse(JSON.stringify({ resourceProfiles: [rp1, rp2], dictionary: d.message() },
      (k, v) => (v && v.type === 'Buffer' ? v : v)));
    // Buffers came back as {type, data}: make them bytes again
    for (const l of r.dictionary.linkTable) { l.traceId = Buffer.from(l.traceId.data); l.spanId = Buffer.from(l.spanId.data); }
    mutate(r);
    write('bad-' + name + '.bin', r);
  };
  const p0 = (r) => r.resourceProfiles[0].scopeProfiles[0].profiles[0];
  bad('stack-index', (r) => { p0(r).samples[0].stackIndex = 999; });
  bad('string0', (r) => { r.dictionary.stringTable[0] = 'x'; });
  bad('location0', (r) => { r.dictionary.locationTable[0] = { address: 5 }; });
  bad('attr-negative', (r) => { p0(r).samples[0].attributeIndices = [-1]; });
  bad('stack-zero-location', (r) => { r.dictionary.stackTable[1].locationIndices = [0]; });
  bad('values-timestamps', (r) => { p0(r).samples[0].values = [1, 2]; p0(r).samples[0].timestampsUnixNano = ['1']; });
  bad('no-values', (r) => { p0(r).samples[0].values = []; });
  bad('no-sample-type', (r) => { delete p0(r).sampleType; });
  bad('function-string', (r) => { r.dictionary.functionTable[1].nameStrindex = 100000; });
  bad('link-length', (r) => { r.dictionary.linkTable[1].traceId = Buffer.from('0102030405', 'hex'); });
  bad('mapping-index', (r) => { r.dictionary.locationTable[1].mappingIndex = 77; });
  bad('deep', (r) => {
    let v = { stringValue: 'x' };
    for (let i = 0; i < 40; i++) v = { arrayValue: { values: [v] } };
    r.resourceProfiles[0].resource.attributes.push({ key: 'deep', value: v });
  });
}

const [cmd, a, b] = process.argv.slice(2);
if (cmd === 'build') build(a, Number(b));
else if (cmd === 'status') {
  const s = Status.decode(fs.readFileSync(a));
  console.log(`${s.code} ${s.message}`);
} else if (cmd === 'response') {
  const r = Response.decode(fs.readFileSync(a));
  const ps = r.partialSuccess || {};
  console.log(`${Number(ps.rejectedProfiles || 0)} ${ps.errorMessage || ''}`);
} else {
  console.error('usage: gen.js build DIR T0 | status FILE | response FILE');
  process.exit(2);
}
