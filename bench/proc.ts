// This run's workerd processes, found and measured through /proc: never another user's.
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100

/** The workerd processes among a process's descendants, by PID. */
export function workerdsOf(pid: number): string[] {
  const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' }).stdout
  const found: string[] = []
  for (let queue = [String(pid)]; queue.length > 0; ) {
    const children = run('pgrep', ['-P', queue.shift() as string])
      .split('\n')
      .filter(Boolean)
    queue.push(...children)
    found.push(...children.filter((c) => run('ps', ['-o', 'comm=', '-p', c]).trim() === 'workerd'))
  }
  return found
}

/** The CPU time (user + system) the given processes have used so far, in µs. */
export function cpuUs(pids: string[]): number {
  let ticks = 0
  for (const pid of pids) {
    try {
      // After the command's closing parenthesis: fields 3 onwards; utime and stime are 14 and 15.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      return Number.NaN
    }
  }
  return (ticks / CLOCK_TICKS) * 1e6
}

/** The time the processes' threads have run so far, in ns (schedstat: finer than clock ticks). */
export function runNs(pids: string[]): number {
  let ns = 0
  for (const pid of pids) {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0])
      } catch {
        // A thread that ended between the listing and the read.
      }
    }
  }
  return ns
}
