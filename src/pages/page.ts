/** A page as the cache keeps it: the upstream's validated bytes, when they were fetched, their ETag. */
export interface CachedPage {
  /** As the upstream sent it: text from the upstream or KV, bytes in the isolate's memory tier. */
  body: string | Uint8Array<ArrayBuffer>
  /** When the page was fetched from the upstream, in epoch milliseconds on the gateway's clock. */
  storedAt: number
  /** A strong validator of `body`, computed once when the page was fetched. */
  etag: string
  /** Fetched by the pre-warm cron, ahead of demand (said in `Cache-Status`). */
  prewarmed?: boolean
}

/** A strong validator for a page's bytes: the first 128 bits of their SHA-256, base64url. */
export async function computeEtag(text: string): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)),
  )
  let binary = ''
  for (const b of digest.subarray(0, 16)) binary += String.fromCharCode(b)
  return `"${btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}"`
}
