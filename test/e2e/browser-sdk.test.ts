import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { launchChromium } from './chromium'

declare const OpenAI: typeof import('openai').default

describe('the official openai SDK in Chromium, from an allow-listed origin', () => {
  let browser: Browser

  beforeAll(async () => {
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
  })

  it('pages through groups and reads the headers it needs, across origins', async () => {
    const page = await browser.newPage()
    const problems: string[] = []
    page.on('console', (m) => {
      // The 400 below is asked for; Chromium reports it as a failed load.
      if (m.type() === 'error' && !/status of 400/.test(m.text())) problems.push(m.text())
    })
    await page.goto(`${inject('partnerOrigin')}/`)
    const result = await page.evaluate(
      async ({ gateway, key }) => {
        const client = new OpenAI({
          baseURL: `${gateway}/v1`,
          adminAPIKey: key,
          dangerouslyAllowBrowser: true,
          maxRetries: 0,
        })
        const { data, response } = await client.admin.organization.groups
          .list({ limit: 5 })
          .withResponse()
        let refused: Record<string, unknown> = {}
        try {
          await client.admin.organization.groups.list({ limit: 5000 })
        } catch (err) {
          const e = err as { status: number; param: string; headers: Headers }
          refused = {
            status: e.status,
            param: e.param,
            shouldRetry: e.headers.get('x-should-retry'),
            requestId: e.headers.get('x-request-id'),
          }
        }
        return {
          origin: (globalThis as unknown as { location: { origin: string } }).location.origin,
          groups: data.data.length,
          requestId: response.headers.get('x-request-id'),
          cacheStatus: response.headers.get('cache-status'),
          rateLimit: response.headers.get('ratelimit'),
          refused,
        }
      },
      { gateway: inject('gatewayUrl'), key: inject('partnerKey') },
    )
    expect(result.origin).not.toBe(inject('gatewayUrl'))
    expect(result.groups).toBe(5)
    expect(result.requestId).toMatch(/^[\w-]+$/)
    expect(result.cacheStatus).toMatch(/^groups-gateway; /)
    expect(result.rateLimit).toMatch(/^"elevated";r=\d+;t=\d+$/)
    expect(result.refused).toMatchObject({ status: 400, param: 'limit', shouldRetry: 'false' })
    expect(result.refused.requestId).toMatch(/^[\w-]+$/)
    expect(problems).toEqual([])
  })
})
