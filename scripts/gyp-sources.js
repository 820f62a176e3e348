// Prints what a build for one OS needs from binding.gyp, as JSON: { sources, defines,
// libraries } of the first target with that OS's condition applied.
//
//   node scripts/gyp-sources.js <win|mac|linux> [binding.gyp]
// binding.gyp is a Python literal; the subset used here (double-quoted strings, lists,
// dicts, # comments, trailing commas) is turned into JSON.
'use strict';
const fs = require('fs');
const path = require('path');

const os = process.argv[2];
if (!['win', 'mac', 'linux'].includes(os)) {
  process.stderr.write(`usage: node scripts/gyp-sources.js <win|mac|linux> [binding.gyp] (got ${JSON.stringify(os)})\n`);
  process.exit(2);
}
const file = process.argv[3] || path.join(__dirname, '..', 'binding.gyp');
const text = fs
  .readFileSync(file, 'utf8')
  .split('\n')
  .map((line) => line.replace(/^\s*#.*$/, ''))
  .join('\n')
  .replace(/,(\s*[\]}])/g, '$1');
const gyp = JSON.parse(text);
const target = gyp.targets[0];
const out = {
  target: target.target_name,
  sources: [...(target.sources || [])],
  defines: [...(target.defines || [])],
  libraries: [...(target.libraries || [])],
};
for (const condition of target.conditions || []) {
  const [expr, settings] = condition;
  const match = /^\s*OS\s*==\s*['"](\w+)['"]\s*$/.exec(expr);
  if (!match || match[1] !== os) continue;
  out.sources.push(...(settings.sources || []));
  out.defines.push(...(settings.defines || []));
  out.libraries.push(...(settings.libraries || []));
  if (settings.link_settings) out.libraries.push(...(settings.link_settings.libraries || []));
}
process.stdout.write(JSON.stringify(out));
