// Prints what the Windows cross-build needs from binding.gyp, as JSON:
// { sources, defines, libraries } for the first target with its OS=='win' condition applied.
// binding.gyp is a Python literal; the subset used here (double-quoted strings, lists,
// dicts, # comments, trailing commas) is turned into JSON.
'use strict';
const fs = require('fs');
const path = require('path');

const file = process.argv[2] || path.join(__dirname, '..', '..', 'binding.gyp');
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
  if (!/OS\s*==\s*['"]win['"]/.test(expr) || /OS\s*!=/.test(expr)) continue;
  out.sources.push(...(settings.sources || []));
  out.defines.push(...(settings.defines || []));
  out.libraries.push(...(settings.libraries || []));
  if (settings.link_settings) out.libraries.push(...(settings.link_settings.libraries || []));
}
process.stdout.write(JSON.stringify(out));
