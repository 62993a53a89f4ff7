// Asia/Shanghai has had no daylight saving since 1991: a fixed +08:00 offset is exact.
const OFFSET_MS = 8 * 3600 * 1000
const HOUR = 3600 * 1000
const DAY = 24 * HOUR

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** `YYYY-MM-DD HH:mm` in Asia/Shanghai. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return '—'
  const d = new Date(t + OFFSET_MS)
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
}

/** Midnight (Asia/Shanghai) of the day `at` falls on, as an ISO instant. */
export function startOfShanghaiDay(at: number): string {
  const local = Math.floor((at + OFFSET_MS) / DAY) * DAY
  return new Date(local - OFFSET_MS).toISOString()
}

/** Shanghai calendar day number (days since the epoch) and weekday (0 = Sunday). */
function shanghaiDay(at: number): { day: number; weekday: number } {
  const day = Math.floor((at + OFFSET_MS) / DAY)
  return { day, weekday: (day + 4) % 7 } // 1970-01-01 was a Thursday
}

/** Monday to Friday between the two instants' days: after `from`'s day, up to and including `to`'s.
 * The API publishes no holiday calendar, so public holidays and adjusted working days are not known here;
 * the countdown is a guide, the deadline itself (from routing's calendar) is the rule. */
export function workingDaysBetween(from: number, to: number): number {
  const a = shanghaiDay(from).day
  const b = shanghaiDay(to).day
  let n = 0
  for (let d = a + 1; d <= b; d++) {
    const weekday = (d + 4) % 7
    if (weekday !== 0 && weekday !== 6) n++
  }
  return n
}

export type Urgency = 'overdue' | 'due_soon' | 'ok' | 'none'

export interface Countdown {
  text: string
  urgency: Urgency
}

/** "剩余 2 个工作日", "剩余 5 小时", "已逾期 3 小时", "已逾期 2 天" — the deadline seen from `now`. */
export function countdown(deadline: string | null | undefined, now: number): Countdown {
  if (!deadline) return { text: '未设期限', urgency: 'none' }
  const due = Date.parse(deadline)
  if (Number.isNaN(due)) return { text: '未设期限', urgency: 'none' }
  const left = due - now
  if (left < 0) {
    const late = -left
    if (late < HOUR) return { text: `已逾期 ${Math.max(1, Math.floor(late / 60000))} 分钟`, urgency: 'overdue' }
    if (late < DAY) return { text: `已逾期 ${Math.floor(late / HOUR)} 小时`, urgency: 'overdue' }
    return { text: `已逾期 ${Math.floor(late / DAY)} 天`, urgency: 'overdue' }
  }
  const days = workingDaysBetween(now, due)
  if (shanghaiDay(now).day === shanghaiDay(due).day || left < DAY) {
    if (left < HOUR) return { text: `剩余 ${Math.floor(left / 60000)} 分钟`, urgency: 'due_soon' }
    return { text: `剩余 ${Math.floor(left / HOUR)} 小时`, urgency: 'due_soon' }
  }
  if (days === 0) return { text: `剩余 ${Math.floor(left / HOUR)} 小时`, urgency: 'due_soon' }
  return { text: `剩余 ${days} 个工作日`, urgency: days <= 1 ? 'due_soon' : 'ok' }
}

export function isDueSoon(deadline: string | null | undefined, now: number): boolean {
  return countdown(deadline, now).urgency === 'due_soon'
}
