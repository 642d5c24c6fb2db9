// Worker source maps cover our own code only. A full map is about 60% of a worker's zip and mostly
// maps minified AWS SDK and Powertools code, whose frames say little in a stack trace anyway; Node
// also reads the whole map at cold start (--enable-source-maps). Trimmed, a stack trace still
// points into lib/ and functions/, and the echo worker fits its 200 KB budget.
const { readFileSync, writeFileSync } = require('node:fs');
const { resolve } = require('node:path');

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = Object.fromEntries([...BASE64].map((c, i) => [c, i]));

/** One mapping segment's fields (source map v3 base64 VLQ), each relative to the previous segment. */
function decode(segment) {
  const fields = [];
  let value = 0;
  let shift = 0;
  for (const c of segment) {
    const digit = DIGIT[c];
    value += (digit & 31) * 2 ** shift;
    if (digit & 32) shift += 5;
    else {
      fields.push(value % 2 ? -Math.floor(value / 2) : value / 2);
      value = 0;
      shift = 0;
    }
  }
  return fields;
}

function encode(fields) {
  let text = '';
  for (const field of fields) {
    let value = field < 0 ? -field * 2 + 1 : field * 2;
    do {
      const digit = value % 32;
      value = Math.floor(value / 32);
      text += BASE64[digit + (value > 0 ? 32 : 0)];
    } while (value > 0);
  }
  return text;
}

/**
 * The map with only the segments whose source passes `keep`; the code in between is marked
 * unmapped (a one-field segment), so a position there maps to nothing rather than to the
 * neighbouring code. Sources and names nothing refers to any more are dropped.
 */
function keepSources(map, keep) {
  const sources = [];
  const names = [];
  const index = (list, seen, value) => {
    if (!seen.has(value)) seen.set(value, list.push(value) - 1);
    return seen.get(value);
  };
  const seenSources = new Map();
  const seenNames = new Map();
  const at = [0, 0, 0, 0]; // source, line, column, name: absolute, carried across lines
  const written = [0, 0, 0, 0];
  const lines = map.mappings.split(';').map((line) => {
    let column = 0;
    let writtenColumn = 0;
    let mapped = false;
    const out = [];
    for (const segment of line ? line.split(',') : []) {
      const fields = decode(segment);
      column += fields[0];
      for (let i = 1; i < fields.length; i++) at[i - 1] += fields[i];
      if (fields.length >= 4 && keep(map.sources[at[0]])) {
        const next = [index(sources, seenSources, map.sources[at[0]]), at[1], at[2], fields.length === 5 ? index(names, seenNames, map.names[at[3]]) : written[3]];
        const relative = [column - writtenColumn, ...next.slice(0, fields.length - 1).map((v, i) => v - written[i])];
        for (const [i, v] of next.entries()) written[i] = v;
        out.push(encode(relative));
        mapped = true;
      } else if (mapped || out.length === 0) {
        out.push(encode([column - writtenColumn]));
        mapped = false;
      } else continue;
      writtenColumn = column;
    }
    return out.join(',');
  });
  // Node reads a one-field segment at the very end of the mappings as mapped to the previous
  // source; a closing empty line keeps it unmapped.
  const mappings = lines.join(';');
  const endsUnmapped = decode(mappings.split(/[,;]/).pop()).length === 1;
  return { ...map, sources, names, mappings: endsUnmapped ? `${mappings};` : mappings };
}

const projectSourceMap = {
  name: 'project-source-map',
  setup(build) {
    build.initialOptions.metafile = true; // to find the maps written
    build.onEnd((result) => {
      const workingDir = build.initialOptions.absWorkingDir ?? process.cwd();
      const maps = Object.keys(result.metafile?.outputs ?? {}).filter((file) => file.endsWith('.map'));
      for (const file of maps.map((map) => resolve(workingDir, map))) {
        const map = JSON.parse(readFileSync(file, 'utf8'));
        writeFileSync(file, JSON.stringify(keepSources(map, (source) => !source.includes('node_modules/'))));
      }
    });
  },
};

module.exports = { keepSources, projectSourceMap, decode, encode };
