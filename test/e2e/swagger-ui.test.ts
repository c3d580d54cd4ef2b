import { mkdirSync } from 'node:fs'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { launchChromium } from './chromium'

const ARTIFACTS = 'test/artifacts'

describe('Swagger UI in Chromium', () => {
  let browser: Browser

  beforeAll(async () => {
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
  })

  it('renders from local assets, authorizes with a partner key and lists groups', async () => {
    const origin = inject('gatewayUrl')
    const page = await browser.newPage()
    const problems: string[] = []
    const requests: string[] = []
    const pageRequestHeaders: Record<string, string>[] = []
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') {
        problems.push(`${m.type()}: ${m.text()} (${m.location().url})`)
      }
    })
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`))
    page.on('request', (r) => {
      requests.push(r.url())
      if (r.url().includes('/v1/organization/groups')) pageRequestHeaders.push(r.headers())
    })
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`)
    })

    await page.goto(`${origin}/docs`)
    const operation = page.locator('#operations-Groups-listGroups')
    await operation.waitFor({ timeout: 20_000 })

    await page.locator('.auth-wrapper button.authorize').click()
    await page
      .locator('.modal-ux input[type=text], .modal-ux input[type=password]')
      .first()
      .fill(inject('partnerKey'))
    await page.locator('.modal-ux .auth-btn-wrapper button.authorize').click()
    await page.locator('.modal-ux button.btn-done').click()

    await operation.locator('.opblock-summary').click()
    await operation.locator('.try-out__btn').click()
    await operation.locator('tr[data-param-name="limit"] input').fill('5')
    await operation.locator('.execute').click()
    const status = operation.locator('.live-responses-table .response .response-col_status').first()
    await status.waitFor({ timeout: 20_000 })
    expect((await status.textContent())?.trim(), requests.join('\n')).toBe('200')
    const body = await operation
      .locator('.live-responses-table .highlight-code')
      .first()
      .textContent()
    expect(body).toContain('"object": "list"')
    expect(body).toMatch(/"id": "group_/)

    mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: `${ARTIFACTS}/swagger-ui.png`, fullPage: true })

    // Everything came from the worker itself: no CDN, nothing else.
    const foreign = requests.filter(
      (url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:'),
    )
    expect(foreign).toEqual([])
    expect(requests).toContain(`${origin}/docs/assets/swagger-ui-dist/swagger-ui-bundle.js`)
    expect(requests.some((url) => url.startsWith(`${origin}/v1/organization/groups?limit=5`))).toBe(
      true,
    )
    // "Try it out" sends only what the person typed: no validator or directive pre-filled from
    // the contract, which would bypass the cache on every click.
    expect(pageRequestHeaders.length).toBeGreaterThan(0)
    for (const headers of pageRequestHeaders) {
      expect(headers['if-none-match']).toBeUndefined()
      expect(headers['cache-control']).toBeUndefined()
    }
    // No CSP violation and no script error.
    expect(problems).toEqual([])
  })
})
