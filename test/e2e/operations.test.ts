import { readFileSync } from 'node:fs'
import { describe, expect, inject, it } from 'vitest'
import { currentVersion, rollout, stepArgs, uploadedVersion } from '../../scripts/rollout'
import { smoke } from '../../scripts/smoke'
import {
  datasetOf,
  formatUsage,
  parseSince,
  parseUsage,
  queryUsage,
  usageQuery,
} from '../../scripts/usage'
import recorded from '../fixtures/usage-answer.json'

const wranglerToml = readFileSync('wrangler.toml', 'utf8')

describe('npm run usage', () => {
  it("asks each environment's own dataset, weighted by sample interval, over --since", () => {
    expect(datasetOf(wranglerToml, 'production')).toBe('groups_gateway_production')
    expect(datasetOf(wranglerToml, 'staging')).toBe('groups_gateway_staging')
    const sql = usageQuery('groups_gateway_production', parseSince('24h'))
    expect(sql).toMatch(/FROM groups_gateway_production\n/)
    expect(sql).toMatch(/INTERVAL '86400' SECOND/)
    expect(sql).toMatch(/GROUP BY partner/)
    expect(sql).toMatch(/quantileWeighted\(0\.99, double3, _sample_interval\)/)
    expect(sql).not.toMatch(/COUNT\(/)
    expect(() => usageQuery('x; DROP', 1)).toThrow(/not a dataset/)
  })

  it('prints a table (and JSON) from a recorded answer of the SQL API', async () => {
    const asked: Request[] = []
    const answer = await queryUsage('SELECT 1', 'acct', 'tok', async (input, init) => {
      asked.push(new Request(input, init))
      return Response.json(recorded)
    })
    expect(asked[0]?.url).toBe(
      'https://api.cloudflare.com/client/v4/accounts/acct/analytics_engine/sql',
    )
    expect(asked[0]?.headers.get('authorization')).toBe('Bearer tok')
    const rows = parseUsage(answer)
    expect(rows[0]).toMatchObject({
      partner: 'acme',
      requests: 182400,
      rateLimited: 40,
      upstreamCalls: 2911,
    })
    expect(rows[0]?.hitRatio).toBeCloseTo(0.982, 3)
    expect(formatUsage(rows)).toBe(
      [
        'PARTNER  REQUESTS  HIT %  4XX  429  5XX  UPSTREAM  P50 MS  P99 MS',
        'acme       182400   98.2  212   40    3      2911       3      41',
        'globex       9120   96.2    0    0    0       301       4      88',
        '-              57    0.0   51    6    0         0       1      12',
      ].join('\n'),
    )
  })
})

describe('npm run smoke', () => {
  it('passes against the running gateway with a partner key', async () => {
    const result = await smoke(inject('gatewayUrl'), inject('partnerKey'))
    expect(result.checks).toHaveLength(2)
    expect(result.ok).toBe(true)
  })

  it('fails with a key the gateway refuses', async () => {
    const result = await smoke(inject('gatewayUrl'), `gwp_${'x'.repeat(43)}`)
    expect(result.ok).toBe(false)
    expect(result.checks[1]).toMatch(/^FAIL .* -> 401/)
  })
})

describe('npm run rollout', () => {
  const plan = { env: 'production', next: 'new-v', previous: 'old-v', steps: [10, 50, 100] }
  /** A wrangler that records what it was asked to run. */
  const recorder = () => {
    const runs: string[][] = []
    const run = (args: string[]) => {
      runs.push(args)
      return ''
    }
    return { runs, run }
  }

  it('reads the versions it moves between', () => {
    expect(
      uploadedVersion('Uploaded\nWorker Version ID: 0f3a1c2e-1111-4222-8333-944445555666\n'),
    ).toBe('0f3a1c2e-1111-4222-8333-944445555666')
    expect(currentVersion('{"versions":[{"version_id":"old-v","percentage":100}]}')).toBe('old-v')
    expect(() => currentVersion('{"versions":[{"version_id":"a","percentage":50}]}')).toThrow(
      /split/,
    )
  })

  it('moves traffic in steps, smoke-checking each', async () => {
    const { runs, run } = recorder()
    const ok = await rollout(
      plan,
      run,
      async () => ({ ok: true, checks: [] }),
      async () => {},
      () => {},
    )
    expect(ok).toBe(true)
    expect(runs).toEqual([stepArgs(plan, 10), stepArgs(plan, 50), stepArgs(plan, 100)])
    expect(stepArgs(plan, 10).slice(0, 4)).toEqual(['versions', 'deploy', 'new-v@10%', 'old-v@90%'])
  })

  it('puts the previous version back at 100 % when a check fails', async () => {
    const { runs, run } = recorder()
    let calls = 0
    const ok = await rollout(
      plan,
      run,
      async () => ({ ok: ++calls < 2, checks: [] }),
      async () => {},
      () => {},
    )
    expect(ok).toBe(false)
    expect(runs.map((a) => a[2])).toEqual(['new-v@10%', 'new-v@50%', 'old-v@100%'])
  })
})
