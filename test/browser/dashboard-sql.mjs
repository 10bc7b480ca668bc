// The SQL of examples/grafana/profefe.json (variables, then panels) with
// Grafana's macros and variables replaced as Grafana would for the given
// range, one statement a line: test/ui.sh runs them as a profefe_reader
// role and checks what they return.
//   node dashboard-sql.mjs DASHBOARD.json FROM TO SERVICE TYPE SAMPLE_TYPE
import fs from 'node:fs';

const [file, from, to, service, type, sampleType] = process.argv.slice(2);
const d = JSON.parse(fs.readFileSync(file, 'utf8'));
const vars = { service, type, sample_type: sampleType, labels: '{}', compare: '1 hour' };
const fill = (sql) => sql
  .replaceAll('$__timeFrom()', `'${from}'::timestamptz`)
  .replaceAll('$__timeTo()', `'${to}'::timestamptz`)
  .replaceAll('$__interval_ms', '60000')
  .replace(/\$(\w+)/g, (m, name) => (name in vars ? vars[name] : m))
  .replace(/\s+/g, ' ');
for (const v of d.templating.list) if (v.type === 'query') console.log(`var:${v.name}\t${fill(v.query)}`);
for (const p of d.panels) for (const t of p.targets) console.log(`panel:${p.id}:${p.type}\t${fill(t.rawSql)}`);
