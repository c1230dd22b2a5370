// Fails when src/gql/ is not what `npm run codegen` would write from ../schema.graphql and the
// documents in src/: generates into a temporary folder and compares file by file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const committed = join(root, 'src', 'gql');
const tmp = mkdtempSync(join(tmpdir(), 'codegen-check-'));
try {
  execFileSync(join(root, 'node_modules', '.bin', 'graphql-codegen'), ['--config', 'codegen.ts'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, CODEGEN_OUT: tmp + '/' },
  });
  const list = (dir) => (existsSync(dir) ? readdirSync(dir).sort() : []);
  const want = list(tmp);
  const have = list(committed);
  const problems = [];
  for (const f of new Set([...want, ...have])) {
    if (!want.includes(f)) problems.push(`src/gql/${f} should not exist`);
    else if (!have.includes(f)) problems.push(`src/gql/${f} is missing`);
    else if (readFileSync(join(tmp, f), 'utf8') !== readFileSync(join(committed, f), 'utf8'))
      problems.push(`src/gql/${f} differs`);
  }
  if (problems.length) {
    console.error('Generated GraphQL code is stale; run `npm run codegen`:\n  ' + problems.join('\n  '));
    process.exit(1);
  }
  console.log(`codegen:check: src/gql/ is up to date (${want.length} files)`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
