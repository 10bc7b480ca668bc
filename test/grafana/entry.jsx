// A page that mounts Grafana's own Flame Graph component (@grafana/flamegraph)
// on rows profefe returns, as Grafana's Flame Graph panel would get them
// from the PostgreSQL data source (a DataFrame of level, label, self, value
// and, comparing, selfRight, valueRight).
import React from 'react';
import { createRoot } from 'react-dom/client';
import { createDataFrame, createTheme, FieldType } from '@grafana/data';
import { FlameGraph, checkFields } from '@grafana/flamegraph';

const input = window.PROFEFE_ROWS;
const cols = ['level', 'label', 'self', 'value'].concat(input.diff ? ['selfRight', 'valueRight'] : []);
const frame = createDataFrame({
  name: 'profefe',
  fields: cols.map((name) => ({
    name,
    type: name === 'label' ? FieldType.string : FieldType.number,
    values: input.rows.map((r) => r[name]),
    config: name === 'label' ? {} : { unit: input.unit },
  })),
});
window.profefeCheck = checkFields(frame) || null;
const theme = createTheme({ colors: { mode: 'light' } });
createRoot(document.getElementById('root')).render(
  <div style={{ width: 1240, height: 760 }}>
    <FlameGraph data={frame} getTheme={() => theme} />
  </div>,
);
window.profefeMounted = true;
