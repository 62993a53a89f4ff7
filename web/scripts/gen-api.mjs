// Regenerates src/api/schema.d.ts from the gateway's OpenAPI document.
// Usage: npm run gen:api [-- URL]   (default: the document the gateway code builds, read without a server
// through the project's venv; pass http://127.0.0.1:8000/api/v1/openapi.json to read a running gateway)
import { execFileSync } from 'node:child_process'
import { writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const repo = join(here, '..', '..')
let source = process.argv[2]
if (!source) {
  const doc = execFileSync(join(repo, '.venv', 'bin', 'python'), [
    '-c',
    'import json, sys; from gateway.service import _OPENAPI; sys.stdout.write(json.dumps(_OPENAPI, ensure_ascii=False))',
  ], { cwd: repo, env: { ...process.env, PYTHONWARNINGS: 'ignore' } })
  source = join(mkdtempSync(join(tmpdir(), 'minqing-openapi-')), 'openapi.json')
  writeFileSync(source, doc)
}
execFileSync(join(here, '..', 'node_modules', '.bin', 'openapi-typescript'), [source, '-o', join(here, '..', 'src', 'api', 'schema.d.ts')], { stdio: 'inherit' })
