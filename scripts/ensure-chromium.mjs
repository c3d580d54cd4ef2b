// Runs before `npm test`: the browser test drives Debian's Chromium (never a downloaded browser).
// If it is missing and we are root on Debian, install it with apt-get; otherwise say how.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { parseArgs } from 'node:util'

// Plain Node (it runs before anything else is set up), so node:util directly, as scripts/cli.ts does.
try {
  const { values } = parseArgs({ options: { help: { type: 'boolean', short: 'h' } }, strict: true })
  if (values.help) {
    console.log(`usage: npm run setup:chromium

Makes sure Debian's Chromium is at CHROMIUM_PATH (default /usr/bin/chromium) for the browser
tests: installs it with apt-get if it is missing and you are root, else says how. npm test runs it
first.`)
    process.exit(0)
  }
} catch (err) {
  console.error(
    `npm run setup:chromium: ${err.message.split('.')[0]} (see npm run setup:chromium -- --help)`,
  )
  process.exit(2)
}

const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
if (existsSync(path)) process.exit(0)

const canInstall = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')
if (!canInstall) {
  console.error(
    `Chromium is not at ${path}. Install Debian's package (sudo apt-get install chromium) or set CHROMIUM_PATH.`,
  )
  process.exit(1)
}
console.log('Installing Debian\u2019s chromium for the browser test (once)...')
const apt = (args) =>
  execFileSync('apt-get', args, {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  })
apt(['update', '-qq'])
apt(['install', '-y', '-qq', '--no-install-recommends', 'chromium'])
