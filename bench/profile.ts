// npx tsx bench/profile.ts FILE.cpuprofile [--top N]
// Summarises a V8 CPU profile (from `npm run bench -- --cpu-prof`): self time by function and
// by package / source folder, so "where does a DCX request's time go" fits on one screen.
import { readFileSync } from 'node:fs'

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}
interface Profile {
  nodes: Node[]
  startTime: number
  endTime: number
  samples?: number[]
  timeDeltas?: number[]
}

const file = process.argv[2]
if (!file) {
  process.stderr.write('usage: npx tsx bench/profile.ts FILE.cpuprofile [--top N]\n')
  process.exit(2)
}
const top = Number(process.argv[process.argv.indexOf('--top') + 1]) || 30
const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile

// Self time per node: the sum of the time deltas of the samples that landed in it.
const selfUs = new Map<number, number>()
const samples = prof.samples ?? []
const deltas = prof.timeDeltas ?? []
for (let i = 0; i < samples.length; i++) {
  const id = samples[i] as number
  selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0))
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0)
const idleNode = prof.nodes.find((n) => n.callFrame.functionName === '(idle)')
const idle = idleNode ? (selfUs.get(idleNode.id) ?? 0) : 0
// Percentages are of busy time (everything but idle): the profile spans the server's whole life,
// including the gaps between runs, so only the busy share says where requests spend CPU.
const busy = total - idle

function where(url: string): string {
  if (!url) return '(native / V8)'
  const nm = url.lastIndexOf('/node_modules/')
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/')
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url)
  }
  if (url.startsWith('node:')) return url.split('/')[0] ?? url
  // The server runs from dist/ (the built src/): the same folders.
  const src = Math.max(url.indexOf('/src/'), url.indexOf('/dist/'))
  if (src >= 0)
    return `src/${
      url
        .slice(url.indexOf('/', src + 1) + 1)
        .split('/')
        .slice(0, -1)
        .join('/') || '.'
    }`
  const bench = url.indexOf('/bench/')
  if (bench >= 0) return 'bench'
  return url
}

const byFn = new Map<string, number>()
const byPkg = new Map<string, number>()
for (const n of prof.nodes) {
  const us = selfUs.get(n.id) ?? 0
  if (!us) continue
  const f = n.callFrame
  const short = f.url.replace(/^.*\/(node_modules|src|bench)\//, '$1/')
  const key = `${f.functionName || '(anonymous)'}  ${short}${f.url ? `:${f.lineNumber + 1}` : ''}`
  byFn.set(key, (byFn.get(key) ?? 0) + us)
  const pkg =
    f.functionName === '(garbage collector)'
      ? '(garbage collector)'
      : f.functionName === '(idle)'
        ? '(idle)'
        : f.functionName === '(program)'
          ? '(program)'
          : where(f.url)
  byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + us)
}

const show = (title: string, m: Map<string, number>, n: number) => {
  process.stdout.write(`\n${title}\n`)
  for (const [k, us] of [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    process.stdout.write(`${((us / busy) * 100).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}\n`)
  }
}
byFn.delete('(idle)  ')
byPkg.delete('(idle)')
process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy; percentages are of busy time\n`)
show('self time by package / source folder', byPkg, 25)
show(`self time by function (top ${top})`, byFn, top)
