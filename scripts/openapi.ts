// npm run openapi           — regenerate openapi.yaml from the route schemas.
// npm run openapi -- --check — exit 1 if the committed openapi.yaml is stale.
// The document comes from the app itself (same zod schemas that validate requests), built on an
// in-memory database; test/openapi.test.ts uses generateOpenApi() for its drift check.
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { stringify } from 'yaml'
import { build } from '../src/app.js'
import { loadConfig } from '../src/config.js'

export const OPENAPI_PATH = fileURLToPath(new URL('../openapi.yaml', import.meta.url))

/** The document as the app serves it at /openapi.json. */
export async function generateOpenApi(): Promise<Record<string, unknown>> {
  const app = await build(
    loadConfig({
      DCX_DATA_DIR: 'memory://',
      LOG_LEVEL: 'silent',
      DCX_MASTER_KEY: 'openapi-generator-only-0123456789abcdef',
      DCX_DOCS: 'false',
    }),
  )
  try {
    await app.ready()
    // A deep copy: the app caches the object it serves.
    return structuredClone(app.swagger()) as Record<string, unknown>
  } finally {
    await app.close()
  }
}

/** YAML text exactly as committed: keys in generated order, long lines unfolded, trailing newline. */
export function toYaml(doc: unknown): string {
  const text = stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })
  return text.endsWith('\n') ? text : `${text}\n`
}

/** First differing line of two texts, for a short hint. */
export function firstDifference(a: string, b: string): string | undefined {
  const al = a.split('\n')
  const bl = b.split('\n')
  for (let i = 0; i < Math.max(al.length, bl.length); i++) {
    if (al[i] !== bl[i]) return `line ${i + 1}:\n  committed: ${al[i] ?? '(end of file)'}\n  generated: ${bl[i] ?? '(end of file)'}`
  }
  return undefined
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check')
  const generated = toYaml(await generateOpenApi())
  if (check) {
    const committed = await readFile(OPENAPI_PATH, 'utf8').catch(() => '')
    const diff = firstDifference(committed, generated)
    if (diff) {
      process.stderr.write(`openapi.yaml is stale: run npm run openapi\nfirst difference at ${diff}\n`)
      process.exit(1)
    }
    process.stdout.write('openapi.yaml is up to date\n')
    return
  }
  await writeFile(OPENAPI_PATH, generated)
  process.stdout.write(`wrote ${OPENAPI_PATH}\n`)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
