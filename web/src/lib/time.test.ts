import { describe, expect, it } from 'vitest'
import { countdown, formatTime, startOfShanghaiDay, workingDaysBetween } from './time'

// fixed instants only: Tuesday 2026-12-01 10:00 in Shanghai is 02:00 UTC
const TUE_10 = Date.parse('2026-12-01T02:00:00Z')

describe('countdown', () => {
  it('counts working days left, skipping the weekend', () => {
    expect(countdown('2026-12-03T10:00:00Z', TUE_10)).toEqual({ text: '剩余 2 个工作日', urgency: 'ok' })
    // Friday → next Monday 18:00 Shanghai is one working day away
    const fri = Date.parse('2026-12-04T02:00:00Z')
    expect(countdown('2026-12-07T10:00:00Z', fri)).toEqual({ text: '剩余 1 个工作日', urgency: 'due_soon' })
  })
  it('shows hours on the last day', () => {
    expect(countdown('2026-12-01T10:00:00Z', TUE_10)).toEqual({ text: '剩余 8 小时', urgency: 'due_soon' })
    expect(countdown('2026-12-01T02:30:00Z', TUE_10).text).toBe('剩余 30 分钟')
  })
  it('says how late an overdue case is', () => {
    expect(countdown('2026-11-30T23:00:00Z', TUE_10)).toEqual({ text: '已逾期 3 小时', urgency: 'overdue' })
    expect(countdown('2026-11-28T02:00:00Z', TUE_10).text).toBe('已逾期 3 天')
    expect(countdown('2026-12-01T01:59:00Z', TUE_10).text).toBe('已逾期 1 分钟')
  })
  it('has no deadline to count when there is none', () => {
    expect(countdown(null, TUE_10)).toEqual({ text: '未设期限', urgency: 'none' })
  })
})

describe('time in Asia/Shanghai', () => {
  it('formats as YYYY-MM-DD HH:mm at +08:00', () => {
    expect(formatTime('2026-11-30T16:05:00Z')).toBe('2026-12-01 00:05')
    expect(formatTime(null)).toBe('—')
  })
  it('finds the start of the Shanghai day', () => {
    expect(startOfShanghaiDay(Date.parse('2026-11-30T17:00:00Z'))).toBe('2026-11-30T16:00:00.000Z')
  })
  it('counts only Monday to Friday', () => {
    expect(workingDaysBetween(TUE_10, Date.parse('2026-12-08T02:00:00Z'))).toBe(5)
  })
})
