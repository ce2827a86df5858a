// npm run openapi           — regenerate openapi.yaml from the route schemas, and the example
//                             client's types (examples/generated/dcx.d.ts) from it.
// npm run openapi -- --check — exit 1 if either committed file is stale.
// The document comes from the app itself (same zod schemas that validate requests), built on an
// in-memory database; test/openapi.test.ts uses generateOpenApi() for its drift check.
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript'
import { stringify } from 'yaml'
import { build, type BuildOptions } from '../src/app.js'
import { loadConfig } from '../src/config.js'

export const OPENAPI_PATH = fileURLToPath(new URL('../openapi.yaml', import.meta.url))
export const CLIENT_TYPES_PATH = fileURLToPath(new URL('../examples/generated/dcx.d.ts', import.meta.url))

/** The document as the app serves it at /openapi.json (`opts.database`: an already-open one to build on). */
export async function generateOpenApi(opts: Pick<BuildOptions, 'database'> = {}): Promise<Record<string, unknown>> {
  const app = await build(
    loadConfig({
      DCX_DATA_DIR: 'memory://',
      LOG_LEVEL: 'silent',
      DCX_MASTER_KEY: 'openapi-generator-only-0123456789abcdef',
      DCX_DOCS: 'false',
    }),
    opts,
  )
  try {
    await app.ready()
    // A deep copy: the app caches the object it serves.
    return structuredClone(app.swagger()) as unknown as Record<string, unknown>
  } finally {
    await app.close()
  }
}

/** YAML text exactly as committed: keys in generated order, long lines unfolded, trailing newline. */
export function toYaml(doc: unknown): string {
  const text = stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })
  return text.endsWith('\n') ? text : `${text}\n`
}

/** What `npm run examples:generate` (the openapi-typescript CLI) writes for this YAML text. */
export async function clientTypes(yamlText: string): Promise<string> {
  return COMMENT_HEADER + astToString(await openapiTS(yamlText, { silent: true }))
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
  const yamlText = toYaml(await generateOpenApi())
  const outputs = [
    { path: OPENAPI_PATH, text: yamlText },
    { path: CLIENT_TYPES_PATH, text: await clientTypes(yamlText) },
  ]
  if (process.argv.includes('--check')) {
    let stale = false
    for (const { path, text } of outputs) {
      const diff = firstDifference(await readFile(path, 'utf8').catch(() => ''), text)
      if (diff) {
        stale = true
        process.stderr.write(`${path} is stale: run npm run openapi\n  first difference at ${diff}\n`)
      }
    }
    if (stale) process.exit(1)
    process.stdout.write('openapi.yaml and examples/generated/dcx.d.ts are up to date\n')
    return
  }
  for (const { path, text } of outputs) {
    await writeFile(path, text)
    process.stdout.write(`wrote ${path}\n`)
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
