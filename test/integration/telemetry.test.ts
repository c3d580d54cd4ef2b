import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { call, createGateway, logs, partner } from '../helpers'

const PATH = '/v1/organization/groups?limit=3'
const VERSION = { id: 'a1b2c3d4-version', tag: 'abc123', timestamp: '2026-11-26T00:00:00Z' }

/** A fake Analytics Engine dataset that keeps what it is given (local dev drops writes). */
function usage() {
  const points: AnalyticsEngineDataPoint[] = []
  const dataset: AnalyticsEngineDataset = { writeDataPoint: (p) => void points.push(p ?? {}) }
  return { points, env: { ...env, USAGE: dataset, VERSION } as Env }
}

describe('telemetry', () => {
  it('writes one data point per request, indexed by partner: a miss, then a hit', async () => {
    const { points, env: withUsage } = usage()
    const app = createGateway()
    await call(PATH, { app, env: withUsage })
    await call(PATH, { app, env: withUsage })
    expect(points).toHaveLength(2)
    const [miss, hit] = points
    expect(miss).toMatchObject({
      indexes: [partner.name],
      blobs: ['/v1/organization/groups', 'GET', 'miss', '200', VERSION.id],
    })
    expect(miss?.doubles?.[0]).toBe(200)
    expect(miss?.doubles?.[3]).toBe(1)
    expect(hit).toMatchObject({
      indexes: [partner.name],
      blobs: ['/v1/organization/groups', 'GET', 'hit', '', VERSION.id],
      doubles: [200, 0, expect.any(Number), 0],
    })
  })

  it('counts refused requests too, under no partner', async () => {
    const { points, env: withUsage } = usage()
    await call(PATH, { env: withUsage, key: null })
    expect(points).toEqual([
      {
        indexes: ['-'],
        blobs: ['/v1/organization/groups', 'GET', 'none', '', VERSION.id],
        doubles: [401, 0, expect.any(Number), 0],
      },
    ])
  })

  it('puts the deployed version in every log line, and writes one line per request', async () => {
    const { env: withUsage } = usage()
    await call('/v1/organization/groups?after=group_doesnotexist', { env: withUsage })
    const lines = logs.map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.filter((l) => l.event === 'request')).toHaveLength(1)
    for (const line of lines) expect(line.version).toBe(VERSION.id)
  })

  it('never fails a request when the dataset throws', async () => {
    const broken = {
      ...env,
      USAGE: {
        writeDataPoint: () => {
          throw new Error('dataset unavailable')
        },
      },
    } as Env
    expect((await call(PATH, { env: broken })).status).toBe(200)
    expect(logs.join('\n')).toMatch(/usage_write_failed/)
  })
})
