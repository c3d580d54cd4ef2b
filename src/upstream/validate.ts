import { AFTER_PATTERN } from './query'
import { type KeyPieces, pageQuotesKey } from './redact'
import { type GroupList, GroupListSchema } from './schemas'

/**
 * The most of an upstream body the gateway reads: a page of 1,000 groups is about 200 KB, so
 * anything past this is not a page, and reading it would only spend the isolate's memory.
 */
export const MAX_BODY_BYTES = 4 * 1024 * 1024

/** A body as text, or null (and the rest of the body abandoned) once it passes `MAX_BODY_BYTES`. */
export async function readCapped(res: Response): Promise<string | null> {
  if (Number(res.headers.get('content-length')) > MAX_BODY_BYTES) {
    await res.body?.cancel()
    return null
  }
  if (!res.body) return ''
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  let text = ''
  let bytes = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return text + decoder.decode()
    bytes += value.byteLength
    if (bytes > MAX_BODY_BYTES) {
      await reader.cancel()
      return null
    }
    text += decoder.decode(value, { stream: true })
  }
}

/**
 * Why a 200's body is not a page the gateway may serve and store, or null if it is: not JSON, not
 * a GroupList, inconsistent, or quoting the admin key. Nothing the upstream wrote goes into it.
 */
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
  const inconsistency = pageInconsistency(text, json, parsed.data, limit)
  if (inconsistency) return `upstream page is inconsistent: ${inconsistency}`
  return pageQuotesKey(text, pieces) ? 'upstream page quotes the admin key' : null
}

/**
 * Why a page that passed the schema still contradicts itself, or null if it does not. A stored
 * page can stand in for the upstream for a day, so one that would mislead a client paging through
 * it is refused before it is stored or served. `json` is the page as parsed, before the schema
 * dropped anything; `text` the bytes the caller would get. Nothing the upstream wrote goes into the
 * reason: it is logged.
 */
function pageInconsistency(
  text: string,
  json: unknown,
  page: GroupList,
  limit: number,
): string | null {
  const { data, has_more: hasMore, next } = page
  if (data.length > limit) return `${data.length} groups for limit ${limit}`
  // Every id may end a page and so come back as `after`: it must be one the gateway accepts.
  const bad = data.findIndex((g) => !AFTER_PATTERN.test(g.id))
  if (bad !== -1) return `data.${bad}.id is not a cursor the gateway accepts`
  // `next` is what a client passes back as `after`. With more to come it is the last group's id
  // (a `limit=0` page has no group, so no cursor, yet may say more exist). On a last page `null`
  // says so, and the last id says the same (the page after it is empty): either is accepted.
  const lastId = data.at(-1)?.id ?? null
  if (hasMore && lastId === null && limit > 0) return 'has_more with no groups'
  if (hasMore && next !== lastId) return "has_more, but next is not the last group's id"
  if (!hasMore && next !== null && next !== lastId) {
    return "next is neither null nor the last group's id"
  }
  return duplicateKeys(text, json) ? 'a key appears twice in one object' : null
}

/**
 * Whether an object repeats a key: a parser that keeps the first would read another page than the
 * one validated (JSON.parse keeps the last). The keys as written in the text and the distinct keys
 * of each parsed object differ in number only if one repeats, at any depth.
 */
function duplicateKeys(text: string, json: unknown): boolean {
  return keysWritten(text) !== keysParsed(json)
}

const BACKSLASH = 92
const COLON = 58

/**
 * Counts the strings followed by a colon, which in valid JSON are the keys. A quote preceded by an
 * odd run of backslashes is escaped: it sits inside a string and ends nothing. Every other quote
 * opens or closes a string, in turn, as JSON has no quote outside a string but these. So a quote
 * inside a value (`"a\":1"`) can neither close its string nor pass for a key, and an escaped key
 * (`"\u006eext"`) is counted like any other. One `indexOf` per quote: linear in the text.
 */
function keysWritten(text: string): number {
  let keys = 0
  let inString = false
  for (let at = text.indexOf('"'); at !== -1; at = text.indexOf('"', at + 1)) {
    let backslashes = 0
    while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 1) continue
    if (inString) {
      let next = at + 1
      while (isJsonSpace(text.charCodeAt(next))) next++
      if (text.charCodeAt(next) === COLON) keys++
    }
    inString = !inString
  }
  return keys
}

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
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
