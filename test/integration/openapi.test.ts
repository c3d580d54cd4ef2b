import { exports } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import committed from '../../openapi/openapi.json'
import pkg from '../../package.json'

const ORIGIN = 'https://gateway.test'

describe('the contract', () => {
  it('serves the committed document: run `npm run openapi` after changing a route', async () => {
    const res = await exports.default.fetch(`${ORIGIN}/openapi.json`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual(committed)
  })

  it('describes the upstream route completely', () => {
    expect(committed.openapi).toBe('3.1.0')
    expect(committed.info).toMatchObject({ title: expect.any(String), version: pkg.version })
    expect(committed.info.description.length).toBeGreaterThan(50)
    expect(committed.servers.length).toBeGreaterThan(0)
    const op = committed.paths['/v1/organization/groups'].get
    expect(op).toMatchObject({
      operationId: 'listGroups',
      summary: expect.any(String),
      description: expect.any(String),
      tags: ['Groups'],
    })
    const params = Object.fromEntries(op.parameters.map((p) => [p.name, p]))
    expect(params.limit?.schema).toMatchObject({
      type: 'integer',
      minimum: 0,
      maximum: 1000,
      default: 100,
    })
    expect(params.order?.schema).toMatchObject({ enum: ['asc', 'desc'], default: 'asc' })
    expect(params.after?.schema).toMatchObject({ type: 'string', maxLength: 128 })
    for (const p of op.parameters) expect(p.description).toBeTruthy()
    expect(Object.keys(committed.components.schemas).sort()).toEqual([
      'Error',
      'Group',
      'GroupList',
      'Health',
    ])
    expect(committed.components.schemas.GroupList.example.data[0]?.id).toBe('group_01J1F8ABCDXYZ')
    for (const [status, response] of Object.entries(op.responses)) {
      // A 304 has no body by definition.
      if (status === '304') continue
      const ref = (response as { content: { 'application/json': { schema: { $ref: string } } } })
        .content['application/json'].schema.$ref
      expect(ref, status).toBe(
        status === '200' ? '#/components/schemas/GroupList' : '#/components/schemas/Error',
      )
    }
  })

  it('declares every status the route returns', () => {
    const declared = Object.keys(committed.paths['/v1/organization/groups'].get.responses)
    expect(declared).toEqual(
      expect.arrayContaining([
        '200',
        '304',
        '400',
        '401',
        '404',
        '429',
        '500',
        '502',
        '503',
        '504',
      ]),
    )
  })
})

describe('the contract, for people and generators', () => {
  type Json = Record<string, unknown>
  const doc = committed as unknown as {
    info: Json
    paths: Record<string, Record<string, Json>>
    components: { schemas: Record<string, Json> }
  }

  it('has contact, license, servers and tags', () => {
    expect(doc.info.contact).toMatchObject({ name: expect.any(String) })
    expect(doc.info.license).toMatchObject({ name: 'MIT' })
  })

  it('describes every operation, parameter, schema and property', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const where = `${method.toUpperCase()} ${path}`
        expect(op.description, where).toBeTruthy()
        expect(op.operationId, where).toBeTruthy()
        for (const p of (op.parameters ?? []) as Json[])
          expect(p.description, `${where} ${p.name}`).toBeTruthy()
      }
    }
    const walk = (schema: Json, where: string) => {
      expect(schema.description, where).toBeTruthy()
      for (const [name, prop] of Object.entries(
        (schema.properties ?? {}) as Record<string, Json>,
      )) {
        if (!prop.$ref) walk(prop, `${where}.${name}`)
      }
    }
    for (const [name, schema] of Object.entries(doc.components.schemas)) walk(schema, name)
  })

  it('pre-fills no request header in Swagger UI: they bypass the cache', () => {
    const op = committed.paths['/v1/organization/groups'].get
    const headers = op.parameters.filter((p) => p.in === 'header')
    expect(headers.map((p) => p.name).sort()).toEqual(['cache-control', 'if-none-match'])
    for (const p of headers) {
      expect(JSON.stringify(p), p.name).not.toMatch(/"examples?"/)
    }
  })

  it('gives an example for the list and for each error, and documents response headers', () => {
    const responses = doc.paths['/v1/organization/groups']?.get?.responses as Record<string, Json>
    for (const [status, response] of Object.entries(responses)) {
      const headers = response.headers as Record<string, Json>
      expect(Object.keys(headers), status).toEqual(
        expect.arrayContaining(['x-request-id', 'RateLimit', 'RateLimit-Policy']),
      )
      for (const header of Object.values(headers)) expect(header.description, status).toBeTruthy()
      if (status === '304') continue
      const media = (response.content as Record<string, Json>)['application/json'] as Json
      expect(media.example, status).toBeTruthy()
    }
    expect(Object.keys(responses['200']?.headers as Json)).toEqual(
      expect.arrayContaining(['Cache-Status', 'ETag', 'Age', 'Cache-Control']),
    )
  })
})

describe('Swagger UI', () => {
  it('renders /docs from the worker\u2019s own assets, with no CDN', async () => {
    const res = await exports.default.fetch(`${ORIGIN}/docs`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/html/)
    const html = await res.text()
    expect(html).not.toMatch(/https?:\/\//)
    // No inline script: the page's CSP allows scripts from this origin only.
    expect(html).not.toMatch(/<script>/)
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string)
    expect(assets).toEqual(
      expect.arrayContaining([
        '/docs/assets/swagger-ui-dist/swagger-ui.css',
        '/docs/assets/swagger-ui-dist/swagger-ui-bundle.js',
        '/docs/init.js',
      ]),
    )
    for (const asset of assets) {
      const file = await exports.default.fetch(`${ORIGIN}${asset}`)
      expect(file.status, asset).toBe(200)
      expect(file.headers.get('content-security-policy'), asset).toBeTruthy()
      expect(file.headers.get('x-request-id'), asset).toBeTruthy()
      expect((await file.text()).length, asset).toBeGreaterThan(
        asset.endsWith('init.js') ? 50 : 1000,
      )
    }
    const init = await (await exports.default.fetch(`${ORIGIN}/docs/init.js`)).text()
    expect(init).toContain('url: "/openapi.json"')
  })

  it('lets "Try it out" call the same origin', () => {
    expect(committed.servers[0]?.url).toBe('/')
  })
})
