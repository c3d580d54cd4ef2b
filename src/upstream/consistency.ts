import { AFTER_PATTERN } from './query'
import type { GroupList } from './schemas'

/**
 * Why a page that passed the schema still contradicts itself, or null if it does not. A stored
 * page can stand in for the upstream for a day, so one that would mislead a client paging through
 * it is refused before it is stored or served. `json` is the page as parsed, before the schema
 * dropped anything; `text` the bytes the caller would get. Nothing the upstream wrote goes into the
 * reason: it is logged.
 */
export function pageInconsistency(
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
