// The one way pages talk to the gateway: bearer token, one refresh on 401 (rotation per the contract),
// problems turned into ApiError with the Chinese explanation ready.
import type { Problem } from './errors'
import { describe, explain } from './errors'
import { session, signIn, signOut } from './session'

export const BASE = '/api/v1'

export class ApiError extends Error {
  problem: Problem
  status: number
  constructor(problem: Problem, status: number) {
    super(describe(problem))
    this.problem = problem
    this.status = status
  }
  get fields() {
    return explain(this.problem).fields
  }
}

type Query = Record<string, string | number | boolean | null | undefined>

export function queryString(query?: Query): string {
  if (!query) return ''
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v !== null && v !== undefined && v !== '') params.set(k, String(v))
  }
  const s = params.toString()
  return s ? `?${s}` : ''
}

let refreshing: Promise<boolean> | null = null

async function refresh(): Promise<boolean> {
  const token = session.current?.refresh_token
  if (!token) return false
  refreshing ??= (async () => {
    try {
      const r = await fetch(`${BASE}/auth/refresh`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: token }),
      })
      if (!r.ok) return false
      signIn(await r.json())
      return true
    } catch {
      return false
    } finally {
      setTimeout(() => (refreshing = null))
    }
  })()
  return refreshing
}

export let onSignedOut: () => void = () => {}
export function setOnSignedOut(fn: () => void) {
  onSignedOut = fn
}

async function problemOf(r: Response): Promise<Problem> {
  try {
    const body = await r.json()
    return typeof body === 'object' && body ? body : { status: r.status }
  } catch {
    return { status: r.status, title: r.statusText }
  }
}

export interface RequestOptions {
  query?: Query
  body?: unknown
  idempotencyKey?: string
  auth?: boolean
  raw?: boolean
}

export async function request<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const send = () => {
    const headers: Record<string, string> = { Accept: 'application/json', 'Accept-Language': 'zh-CN' }
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json'
    if (opts.auth !== false && session.current) headers.Authorization = `Bearer ${session.current.access_token}`
    if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey
    return fetch(BASE + path + queryString(opts.query), {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    })
  }
  let r = await send()
  if (r.status === 401 && opts.auth !== false && session.current) {
    if (await refresh()) r = await send()
    else {
      signOut()
      onSignedOut()
    }
  }
  if (!r.ok) throw new ApiError(await problemOf(r), r.status)
  if (opts.raw) return r as unknown as T
  if (r.status === 204) return undefined as T
  return (await r.json()) as T
}

export const api = {
  get: <T = any>(path: string, query?: Query) => request<T>('GET', path, { query }),
  post: <T = any>(path: string, body: unknown, idempotencyKey?: string) =>
    request<T>('POST', path, { body, idempotencyKey: idempotencyKey ?? newKey() }),
}

export function newKey(): string {
  return 'web-' + (crypto.randomUUID?.() ?? Math.random().toString(36).slice(2) + Date.now().toString(36))
}

/** Every page of a keyset list, up to `max` items. */
export async function all<T>(path: string, query: Query = {}, max = 5000): Promise<T[]> {
  const items: T[] = []
  let cursor: string | null = null
  do {
    const page: { items: T[]; next_cursor: string | null } = await api.get(path, { ...query, limit: 500, cursor })
    items.push(...page.items)
    cursor = page.next_cursor
  } while (cursor && items.length < max)
  return items
}

/** A file the API answers (xlsx), saved through a link, with the bearer token. */
export async function download(path: string, query: Query, filename: string): Promise<void> {
  const r = await request<Response>('GET', path, { query, raw: true })
  const blob = await r.blob()
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 1000)
}
