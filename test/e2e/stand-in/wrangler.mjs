#!/usr/bin/env node
// A stand-in for `wrangler` that the tests put where npm finds the real one: it appends its
// arguments to $STAND_IN_WRANGLER_LOG (one JSON array a line), keeps what a Cloudflare account
// would hold in the JSON file $STAND_IN_WRANGLER_STATE, and prints what wrangler 4.156.2 prints for
// each command, byte for byte where the tests read it (the formats were taken from wrangler's own
// source and from runs of the pinned wrangler against a recorded API; see the comments).
//
// Without $STAND_IN_WRANGLER_STATE it is the real wrangler (the docs' tests run `npx wrangler dev`
// through it). With STAND_IN_WRANGLER_CHECK=1 it checks a command that needs an account without
// running it: the real wrangler's `--help` for that command must list every flag given.
import { spawn, spawnSync } from 'node:child_process'
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const args = process.argv.slice(2)
const { STAND_IN_WRANGLER_LOG: logFile, STAND_IN_WRANGLER_STATE: stateFile } = process.env
const REAL = join(
  dirname(realpathSync(fileURLToPath(import.meta.url))),
  '../../../node_modules/wrangler/bin/wrangler.js',
)

/**
 * The real wrangler's `--help` for a command, kept per command in the temporary directory: a
 * document names the same commands many times, and each run of wrangler takes a second or two.
 */
function helpOf(command) {
  const dir = join(tmpdir(), 'stand-in-wrangler-4.156.2-help')
  const file = join(dir, `${command.join('_') || '_'}.json`)
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'))
  const run = spawnSync(process.execPath, [REAL, ...command, '--help'], {
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  })
  const help = { status: run.status, text: `${run.stdout}${run.stderr}` }
  mkdirSync(dir, { recursive: true })
  writeFileSync(file, JSON.stringify(help))
  return help
}

if (process.env.STAND_IN_WRANGLER_CHECK === '1') {
  const command = args.filter((a) => !a.startsWith('-'))
  const help = helpOf(command)
  const text = help.text
  const unknown = args.filter((a) => a.startsWith('--') && !text.includes(a.split('=')[0]))
  if (help.status !== 0 || /Unknown argument|Unknown command/i.test(text) || unknown.length) {
    console.error(
      `wrangler ${args.join(' ')}: not a command or flag of wrangler 4.156.2 (${unknown.join(' ')})`,
    )
    process.exit(2)
  }
  console.log(`wrangler ${command.join(' ')}: a command of wrangler 4.156.2 with those flags`)
  process.exit(0)
}
if (!stateFile) {
  const real = spawn(process.execPath, [REAL, ...args], { stdio: 'inherit' })
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => real.kill(signal))
  real.on('exit', (code) => process.exit(code ?? 1))
} else {
  await standIn()
}

async function standIn() {
  if (logFile) appendFileSync(logFile, `${JSON.stringify(args)}\n`)

  /** { workers: { [name]: { deployments: [{ id, versions: [{version_id, percentage}] }], versions: [{ id, tag, message }], crons } }, kv: { [ns]: { [key]: { value, metadata } } } } */
  const state =
    stateFile && existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, 'utf8')) : {}
  state.workers ??= {}
  state.kv ??= {}
  const save = () => stateFile && writeFileSync(stateFile, JSON.stringify(state, null, 2))

  const flag = (name) => {
    const i = args.indexOf(name)
    return i === -1 ? undefined : args[i + 1]
  }
  const env = flag('--env')
  const workerName = `groups-gateway${env ? `-${env}` : ''}`
  state.workers[workerName] ??= { deployments: [], versions: [], crons: [] }
  const worker = state.workers[workerName]
  const positionals = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'))

  // wrangler-banner.ts: an empty line, " ⛅️ wrangler <version>", a rule as long as that text.
  function banner() {
    const text = ' \u26C5\uFE0F wrangler 4.156.2'
    console.log(`\n${text}\n${'\u2500'.repeat(text.length)}`)
  }

  // handleError: an empty line on stdout; "✘ [ERROR] <message>" (always coloured) on stderr; exit 1.
  function fail(message) {
    console.log('')
    console.error(
      `\x1b[31m✘ \x1b[41;31m[\x1b[41;97mERROR\x1b[41;31m]\x1b[0m \x1b[1m${message}\x1b[0m\n\n`,
    )
    process.exit(1)
  }

  /** Records a deployment as the API would list it (versions/types.ts ApiDeployment). */
  function deployed(versions, annotations) {
    worker.deployments.push({
      id: `d-${worker.deployments.length + 1}`,
      source: 'wrangler',
      strategy: 'percentage',
      author_email: 'ci@example.com',
      created_on: new Date().toISOString(),
      annotations,
      versions,
    })
    save()
  }

  let versionCounter = worker.versions.length + Object.keys(state.workers).length * 100
  function newVersionId() {
    versionCounter += 1
    const n = String(versionCounter).padStart(12, '0')
    return `0000000${versionCounter % 10}-0000-4000-8000-${n}`
  }

  const command = positionals.slice(0, 2).join(' ')
  if (command.startsWith('deployments status')) {
    // deployments/status.ts: with --json, the latest deployment object as the API returned it.
    const latest = worker.deployments.at(-1)
    if (!latest) fail(`The Worker ${workerName} has no deployments.`)
    if (!args.includes('--json')) banner()
    console.log(JSON.stringify(latest, null, 2))
  } else if (command.startsWith('versions deploy')) {
    banner()
    const split = positionals.slice(2).map((spec) => {
      const [version_id, percent] = spec.split('@')
      return { version_id, percentage: Number(percent.replace('%', '')) }
    })
    const total = split.reduce((sum, v) => sum + v.percentage, 0)
    if (total !== 100) fail('Total percentage must equal 100%')
    for (const { version_id } of split) {
      if (!worker.versions.some((v) => v.id === version_id))
        fail(`Could not find version ${version_id}`)
    }
    deployed(split, { 'workers/message': flag('--message') ?? '' })
    // versions/deploy.ts: success2(`Deployed ${workerName} ${list} (${seconds} sec)`)
    const list = new Intl.ListFormat('en-US').format(
      split.map((v) => `version ${v.version_id} at ${v.percentage}%`),
    )
    console.log('╭ Deploy Worker Versions by splitting traffic between multiple versions\n│')
    console.log(`│\n╰\u200A SUCCESS \u200ADeployed ${workerName} ${list} (0.02 sec)`)
  } else if (command === 'versions view') {
    // versions/view.ts with --json: the version object as the API returned it, no banner.
    const version = worker.versions.find((v) => v.id === positionals[2])
    if (!version) fail(`Could not find version ${positionals[2]}`)
    const annotations = {
      'workers/triggered_by': 'upload',
      ...(version.tag ? { 'workers/tag': version.tag } : {}),
      ...(version.message ? { 'workers/message': version.message } : {}),
    }
    console.log(JSON.stringify({ id: version.id, number: 1, metadata: {}, annotations }, null, 2))
  } else if (command === 'deploy' || command === 'triggers deploy') {
    banner()
    if (command === 'deploy') {
      if (state.refuse?.deploy) fail(state.refuse.deploy)
      const id = newVersionId()
      worker.versions.push({ id, tag: null, message: null })
      deployed([{ version_id: id, percentage: 100 }], {})
      // deploy-helpers deploy.ts: Uploaded, the triggers, then Current Version ID.
      console.log('Total Upload: 412.08 KiB / gzip: 88.40 KiB')
      console.log('Worker Startup Time: 12 ms')
      console.log(`Uploaded ${workerName} (2.10 sec)`)
      console.log(`Deployed ${workerName} triggers (0.41 sec)`)
      console.log(`  https://${workerName}.example.workers.dev`)
      console.log('  schedule: * * * * *')
      console.log(`Current Version ID: ${id}`)
    } else {
      // triggers/deploy.ts; the experimental-command warning goes to stderr.
      console.error('▲ [WARNING] 🚧 `wrangler triggers deploy` is an experimental command.\n')
      console.log(`Deployed ${workerName} triggers (0.06 sec)`)
      console.log(`  https://${workerName}.example.workers.dev`)
      console.log('  schedule: * * * * *')
    }
  } else if (command === 'versions list') {
    // versions/list.ts with --json: the versions as the API returned them, oldest first, no banner.
    console.log(
      JSON.stringify(
        worker.versions.map((v) => ({ id: v.id, annotations: {} })),
        null,
        2,
      ),
    )
  } else if (command === 'versions secret') {
    banner()
    // versions/secrets/put.ts: the value on stdin; a new version copying the newest one.
    const value = readFileSync(0, 'utf8')
    if (!value) fail('no value on stdin')
    const id = newVersionId()
    worker.versions.push({
      id,
      tag: null,
      message: `Updated secret "${positionals[3]}"`,
      secret: value,
    })
    save()
    console.log(`🌀 Creating the secret for the Worker "${workerName}" ${env ? `(${env})` : ''}`)
    console.log(`✨ Success! Created version ${id} with secret ${positionals[3]}.`)
    console.log(
      `➡️  To deploy this version with secret ${positionals[3]} to production traffic use the command "wrangler versions deploy".`,
    )
  } else if (command.startsWith('versions upload')) {
    if (state.refuse?.upload) fail(state.refuse.upload)
    banner()
    const id = newVersionId()
    worker.versions.push({ id, tag: flag('--tag') ?? null, message: flag('--message') ?? null })
    save()
    // deploy-helpers versions-upload.ts
    console.log('Total Upload: 412.08 KiB / gzip: 88.40 KiB')
    console.log('Worker Startup Time: 12 ms')
    console.log(`Uploaded ${workerName} (1.21 sec)`)
    console.log(`Worker Version ID: ${id}`)
    console.log(
      `\nTo deploy this version to production traffic use the command wrangler versions deploy\n\nChanges to non-versioned settings (config properties 'logpush' or 'tail_consumers') take effect after your next deployment using the command wrangler versions deploy\n\nChanges to triggers (routes, custom domains, cron schedules, etc) must be applied with the command wrangler triggers deploy\n`,
    )
  } else if (positionals[0] === 'kv' && positionals[1] === 'key') {
    const sub = positionals[2]
    const ns = `${workerName}:${flag('--binding')}`
    state.kv[ns] ??= {}
    const store = state.kv[ns]
    if (sub === 'list') {
      // kv/index.ts: no banner, only JSON.
      const prefix = flag('--prefix') ?? ''
      const keys = Object.entries(store)
        .filter(([name]) => name.startsWith(prefix))
        .map(([name, { metadata }]) => (metadata === undefined ? { name } : { name, metadata }))
      console.log(JSON.stringify(keys, undefined, 2))
    } else if (sub === 'put') {
      banner()
      const [key, value] = positionals.slice(3)
      const metadata = flag('--metadata')
      store[key] = { value, ...(metadata ? { metadata: JSON.parse(metadata) } : {}) }
      save()
      console.log('Resource location: remote \n')
      console.log(
        `Writing the value "${value}" to key "${key}" on namespace binding: "${flag('--binding')}" (id: "ns-${flag('--binding')}")${metadata ? ` with metadata "${metadata}"` : ''}.`,
      )
    } else if (sub === 'delete') {
      banner()
      const key = positionals[3]
      delete store[key]
      save()
      console.log('Resource location: remote \n')
      console.log(
        `Deleting the key "${key}" on namespace binding: "${flag('--binding')}" (id: "ns-${flag('--binding')}").`,
      )
    } else {
      fail(`the stand-in does not know kv key ${sub}`)
    }
  } else {
    fail(`the stand-in wrangler does not know: ${args.join(' ')}`)
  }
}
