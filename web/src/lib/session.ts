// Who is signed in: the tokens and the account from /auth/login (docs: notes/AUTH-CONTRACT.md).
// Kept in localStorage so a reload keeps the session; a bare access token (a `minqing token` for
// development) works too: the account is then read from its claims.
import { reactive } from 'vue'

export interface Account {
  id?: string
  username?: string | null
  display_name?: string
  role: string
  communities: string[]
  bureau?: string | null
  phone?: string | null
  roster_id?: string | null
  member_id?: string | null
}

export interface Session {
  access_token: string
  refresh_token?: string | null
  expires_at?: number | null
  account: Account
}

const KEY = 'minqing.session'

export function claimsOf(token: string): Record<string, unknown> {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')
    const json = decodeURIComponent(
      Array.from(atob(part + '='.repeat((4 - (part.length % 4)) % 4)))
        .map((c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0'))
        .join(''),
    )
    return JSON.parse(json)
  } catch {
    return {}
  }
}

export function accountFromToken(token: string): Account {
  const c = claimsOf(token)
  return {
    id: String(c.sub ?? ''),
    username: (c.sub as string) ?? null,
    display_name: String(c.name ?? c.sub ?? ''),
    role: String(c.role ?? ''),
    communities: Array.isArray(c.communities) ? (c.communities as string[]) : [],
    bureau: (c.bureau as string) ?? null,
    roster_id: (c.roster_id as string) ?? null,
  }
}

function load(): Session | null {
  try {
    const raw = localStorage.getItem(KEY)
    if (!raw) return null
    const s = JSON.parse(raw) as Partial<Session>
    if (!s.access_token) return null
    return { ...s, account: s.account ?? accountFromToken(s.access_token) } as Session
  } catch {
    return null
  }
}

export const session = reactive<{ current: Session | null }>({ current: load() })

export function signIn(body: {
  access_token: string
  refresh_token?: string
  expires_in?: number
  account?: Account
}): void {
  const s: Session = {
    access_token: body.access_token,
    refresh_token: body.refresh_token ?? null,
    expires_at: body.expires_in ? Date.now() + body.expires_in * 1000 : null,
    account: body.account ?? accountFromToken(body.access_token),
  }
  session.current = s
  localStorage.setItem(KEY, JSON.stringify(s))
}

export function signOut(): void {
  session.current = null
  localStorage.removeItem(KEY)
}

export function account(): Account | null {
  return session.current?.account ?? null
}

/** The community a page works in by default: the account's first (district-wide: none chosen). */
export function homeCommunity(): string {
  const c = account()?.communities ?? []
  return c.find((x) => x !== '*') ?? ''
}
