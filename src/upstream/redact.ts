import type { PageQuery } from './schemas'

const FILTER_SIZE = 1 << 16

/**
 * The admin key's pieces, to spot it where the upstream (or a proxy) echoes the request back,
 * Authorization header included. Per call, never kept. `short`: its 4-character windows (a 401
 * quotes four); `long`: its 8-character ones (4 would refuse real pages of ids by chance, 8 not).
 */
export function keyPieces(key: string) {
  const windows = (n: number) =>
    new Set(Array.from({ length: Math.max(key.length - n, 0) + 1 }, (_, i) => key.slice(i, i + n)))
  const short = [...windows(4)]
  const filter = new Uint8Array(FILTER_SIZE)
  for (const w of short) filter[hash4(w, 0)] = 1
  return { short, long: windows(8), filter, masked: `*${key.slice(-4)}` }
}

export type KeyPieces = ReturnType<typeof keyPieces>

function hash4(text: string, at: number): number {
  let h = 0
  for (let i = at; i < at + 4; i++) h = h * 31 + text.charCodeAt(i)
  return h & (FILTER_SIZE - 1)
}

/** Whether a short upstream text quotes the key, or a credential (`Bearer …`, an `sk-` key). */
function quotesKey(text: string, pieces: KeyPieces): boolean {
  return /\bbearer\b|\bsk-/i.test(text) || pieces.short.some((w) => text.includes(w))
}

/**
 * Whether a page holds 8 key characters in a row, its masked last four, or a `\u` escape of
 * printable ASCII (no serializer needs one; it could spell the key unseen). Any 8 in a row cover a
 * window at a multiple of 5 (8 = 4 + 5 - 1): a hash probe every fifth position finds every one.
 */
export function pageQuotesKey(text: string, pieces: KeyPieces): boolean {
  if (/\\u00[2-7][0-9a-fA-F]/.test(text) || text.includes(pieces.masked)) return true
  for (let at = 0; at + 4 <= text.length; at += 5) {
    if (pieces.filter[hash4(text, at)] === 0) continue
    for (let start = Math.max(0, at - 4); start <= at && start + 8 <= text.length; start++) {
      if (pieces.long.has(text.slice(start, start + 8))) return true
    }
  }
  return false
}

/** The upstream's `x-request-id` (`req_…`, or any proxy's), fit for a log line, or null. */
export function safeRequestId(id: string | null, pieces: KeyPieces): string | null {
  return id !== null && /^[A-Za-z0-9_-]{1,128}$/.test(id) && !quotesKey(id, pieces) ? id : null
}

/** The parameters the gateway sends: the only ones an upstream error can be about. */
const SENT_PARAMS = new Set<string>(['after', 'limit', 'order'] satisfies (keyof PageQuery)[])

/**
 * What of an upstream 400/404/422 body reaches the caller: `param` only if the gateway sent it;
 * `type` and `code` only as snake_case identifiers; each, and `message`, only if it quotes neither
 * the key nor a credential (the operator's `detail` names what was withheld). The caller's own
 * `after` is masked before the message is judged, lest it tell which cursors hold key pieces.
 */
export function relayedError(status: number, text: string, pieces: KeyPieces, query: PageQuery) {
  let error: Record<string, unknown> = {}
  try {
    error = JSON.parse(text)?.error ?? {}
  } catch {} // not JSON: nothing to relay
  const withheld: string[] = []
  const keep = (field: string, value: string | null, judged = value) => {
    if (judged === null || !quotesKey(judged, pieces)) return value
    withheld.push(field)
    return null
  }
  const message = bounded(error.message, 1000)
  const judged = query.after ? (message?.replaceAll(query.after, '\0') ?? null) : message
  const relayed = {
    message:
      keep('message', message, judged) ??
      `The upstream API rejected the request (status ${status}).`,
    type: keep('type', identifier(error.type)) ?? 'invalid_request_error',
    param: typeof error.param === 'string' && SENT_PARAMS.has(error.param) ? error.param : null,
    code: keep('code', identifier(error.code)),
  }
  const why = `withheld its ${withheld.join(', ')}: they quoted the admin key or a credential`
  return { ...relayed, detail: `upstream answered ${status}${withheld.length ? `; ${why}` : ''}` }
}

const bounded = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : null)

function identifier(v: unknown): string | null {
  const s = bounded(v, 64)
  return s !== null && /^[a-z0-9_]{1,64}$/.test(s) ? s : null
}
