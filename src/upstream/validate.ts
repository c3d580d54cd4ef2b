import { type KeyPieces, pageQuotesKey } from './redact'
import { AFTER_PATTERN, type GroupList, GroupListSchema } from './schemas'

/** A page of 1,000 groups is about 200 KB: past this a body is no page, only spent memory. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024

/** A body as text, or null (the rest abandoned) once it passes `MAX_BODY_BYTES`. */
export async function readCapped(res: Response): Promise<string | null> {
  if (Number(res.headers.get('content-length')) > MAX_BODY_BYTES) {
    await res.body?.cancel()
    return null
  }
  const decoder = new TextDecoder()
  let text = ''
  let bytes = 0
  for await (const chunk of res.body ?? []) {
    bytes += chunk.byteLength
    if (bytes > MAX_BODY_BYTES) return null // leaving the loop cancels the body
    text += decoder.decode(chunk, { stream: true })
  }
  return text + decoder.decode()
}

/** Why a 200's body is no page to serve or store, or null. Logged, so it never quotes the body. */
export function invalidPage(text: string, limit: number, pieces: KeyPieces): string | null {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return 'upstream body is not JSON'
  }
  const parsed = GroupListSchema.safeParse(json)
  if (!parsed.success) {
    const where = parsed.error.issues[0]?.path.join('.') || '(root)'
    return `upstream page failed the GroupList schema at ${where}`
  }
  const why = inconsistency(text, json, parsed.data, limit)
  if (why) return `upstream page is inconsistent: ${why}`
  return pageQuotesKey(text, pieces) ? 'upstream page quotes the admin key' : null
}

/** A stored page can stand in for the upstream for a day: one that would mislead is refused. */
function inconsistency(text: string, json: unknown, page: GroupList, limit: number) {
  const { data, has_more: hasMore, next } = page
  if (data.length > limit) return `${data.length} groups for limit ${limit}`
  // Every id may end a page and so come back as `after`: it must be one the gateway accepts.
  const bad = data.findIndex((g) => !AFTER_PATTERN.test(g.id))
  if (bad !== -1) return `data.${bad}.id is not a cursor the gateway accepts`
  // With more to come, `next` is the last group's id (a `limit=0` page has none, yet may say more
  // exist). On a last page `null` says so, and so does the last id (the page after it is empty).
  const lastId = data.at(-1)?.id ?? null
  if (hasMore && lastId === null && limit > 0) return 'has_more with no groups'
  if (hasMore && next !== lastId) return "has_more, but next is not the last group's id"
  if (next !== null && next !== lastId) return "next is neither null nor the last group's id"
  // A parser keeping a repeated key's first value (JSON.parse keeps the last) reads another page.
  return keysWritten(text) === keysParsed(json) ? null : 'a key appears twice in one object'
}

const JSON_SPACE = new Set([0x20, 0x0a, 0x0d, 0x09])

/**
 * The keys as written: strings followed by a colon. A quote after an odd run of backslashes is
 * escaped; any other opens or closes a string in turn, so `"a\":1"` closes nothing, `"\u006e"` counts.
 */
function keysWritten(text: string): number {
  let keys = 0
  let inString = false
  for (let at = text.indexOf('"'); at !== -1; at = text.indexOf('"', at + 1)) {
    let backslashes = 0
    while (text[at - 1 - backslashes] === '\\') backslashes++
    if (backslashes % 2 === 1) continue
    if (inString) {
      let next = at + 1
      while (JSON_SPACE.has(text.charCodeAt(next))) next++
      if (text[next] === ':') keys++
    }
    inString = !inString
  }
  return keys
}

/** Each object's distinct keys, summed over the parsed value (iteratively: depth is the upstream's). */
function keysParsed(json: unknown): number {
  let keys = 0
  const stack: unknown[] = [json]
  while (stack.length > 0) {
    const value = stack.pop()
    if (typeof value !== 'object' || value === null) continue
    const children = Array.isArray(value) ? value : Object.values(value)
    if (!Array.isArray(value)) keys += children.length
    for (const child of children) if (typeof child === 'object' && child !== null) stack.push(child)
  }
  return keys
}
