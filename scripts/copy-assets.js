// Copies what tsc does not emit (editor .html, locales, icons) next to the compiled nodes, so
// that dist/nodes/<name>/ is a complete Node-RED node directory.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const from = path.join(root, 'nodes');
const to = path.join(root, 'dist', 'nodes');

function copy(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const source = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      copy(source);
    } else if (!entry.name.endsWith('.ts')) {
      const target = path.join(to, path.relative(from, source));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.copyFileSync(source, target);
    }
  }
}

copy(from);
