import type { PageQuery } from './query'

/**
 * The admin key's pieces, to spot it in what the upstream sends back: an upstream, or anything in
 * front of it, may echo the request (its Authorization header included) into any field. Built
 * once per upstream call, never kept: nothing outside the call holds the key.
 */
export interface KeyPieces {
  /** Every 4-character window: a short text holding one is withheld, as a 401 quotes only four. */
  short: readonly string[]
  /** Every 8-character window: 4 would refuse real pages of ids by chance, 8 cannot. */
  long: ReadonlySet<string>
  /** Marks the hashes of the 4-character windows: a page is scanned in one strided pass. */
  filter: Uint8Array
  /** The last four after a mask, as a 401 quotes them. */
  masked: string
}

export function keyPieces(key: string): KeyPieces {
  const windows = (size: number) => {
    const n = Math.min(size, key.length)
    return [...new Set(Array.from({ length: key.length - n + 1 }, (_, i) => key.slice(i, i + n)))]
  }
  const short = windows(4)
  const filter = new Uint8Array(FILTER_SIZE)
  for (const w of short) filter[hash4(w, 0)] = 1
  return { short, long: new Set(windows(8)), filter, masked: `*${key.slice(-4)}` }
}

const FILTER_SIZE = 1 << 16

function hash4(text: string, at: number): number {
  let h = 0
  for (let i = at; i < at + 4; i++) h = h * 31 + text.charCodeAt(i)
  return h & (FILTER_SIZE - 1)
}

/** A credential's cue, whatever follows it: `Bearer …`, or an OpenAI key's `sk-` prefix. */
const CREDENTIAL_CUE = /\bbearer\b|\bsk-/i

/** Whether a short upstream text (an error's field, a request id) quotes the key or a credential. */
export function quotesKey(text: string, pieces: KeyPieces): boolean {
  return CREDENTIAL_CUE.test(text) || pieces.short.some((w) => text.includes(w))
}

/**
 * A printable ASCII character written as a `\u` escape: no serializer needs one, and it is the
 * one way to spell the key in a page without its bytes appearing.
 */
const ESCAPED_ASCII = /\\u00[2-7][0-9a-fA-F]/

/**
 * Whether a page's bytes, served as they are, hold 8 characters of the key in a row, its masked
 * last four, or an escape that could hide them. Such 8 characters (8 = 4 + 5 - 1) cover 4 that
 * start at a multiple of 5 in the text, and those are a window of the key too: probing every fifth
 * position with a hash lookup (about 0.4 ms for 240 KB) finds every candidate, and only candidates
 * are compared.
 */
export function pageQuotesKey(text: string, pieces: KeyPieces): boolean {
  if (ESCAPED_ASCII.test(text) || text.includes(pieces.masked)) return true
  for (let at = 0; at + 4 <= text.length; at += 5) {
    if (pieces.filter[hash4(text, at)] === 0) continue
    for (let start = Math.max(0, at - 4); start <= at && start + 8 <= text.length; start++) {
      if (pieces.long.has(text.slice(start, start + 8))) return true
    }
  }
  return false
}

/** An upstream request id as the upstream writes them (`req_…`), and long enough for any proxy's. */
const REQUEST_ID = /^[A-Za-z0-9_-]{1,128}$/

/** The upstream's `x-request-id`, fit for a log line, or null. */
export function safeRequestId(id: string | null, pieces: KeyPieces): string | null {
  return id !== null && REQUEST_ID.test(id) && !quotesKey(id, pieces) ? id : null
}

export interface RelayedError {
  message: string
  type: string
  param: string | null
  code: string | null
  /** Fields replaced because they quoted the key or a credential, for the operator's detail. */
  withheld: string[]
}

/** The parameters the gateway sends: the only ones an upstream error can be about. */
const SENT_PARAMS = new Set<string>(['after', 'limit', 'order'] satisfies (keyof PageQuery)[])
const IDENTIFIER = /^[a-z0-9_]{1,64}$/

/**
 * What of an upstream 400/404/422 body reaches the caller: `param` only if it names a parameter
 * the gateway sent; `type` and `code` only as snake_case identifiers; each of them and `message`
 * only if it quotes neither the key nor a credential. The caller's own `after` is masked before
 * the message is judged: judging it would tell a caller which cursors hold pieces of the key.
 */
export function relayedError(
  status: number,
  text: string,
  pieces: KeyPieces,
  query: PageQuery,
): RelayedError {
  const error = readErrorBody(text)
  const withheld: string[] = []
  const keep = (field: string, value: string | null, judged = value): string | null => {
    if (value === null || judged === null || !quotesKey(judged, pieces)) return value
    withheld.push(field)
    return null
  }
  const message = bounded(error.message, 1000)
  const param = bounded(error.param, 64)
  return {
    message:
      keep(
        'message',
        message,
        query.after ? (message?.replaceAll(query.after, '\0') ?? null) : message,
      ) ?? `The upstream API rejected the request (status ${status}).`,
    type: keep('type', identifier(error.type)) ?? 'invalid_request_error',
    param: param !== null && SENT_PARAMS.has(param) ? param : null,
    code: keep('code', identifier(error.code)),
    withheld,
  }
}

const bounded = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : null)

function identifier(v: unknown): string | null {
  const s = bounded(v, 64)
  return s !== null && IDENTIFIER.test(s) ? s : null
}

function readErrorBody(text: string): Record<string, unknown> {
  try {
    const error = (JSON.parse(text) as { error?: unknown } | null)?.error
    return typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}
