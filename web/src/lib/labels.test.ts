import { describe, expect, it } from 'vitest'
import { label, options } from './labels'
import { actionBody, actionsFor, missingFields, ACTIONS } from './actions'
import { homeFor, mayVisit, menuFor } from './menus'

const vocab = {
  channels: [
    { code: 'online', label: '网络平台' },
    { code: 'hotline', label: '服务热线' },
  ],
  handling_types: ['immediate', 'escalated'],
  feedback_methods: ['in_person'],
  statuses: ['registered'],
  labels: {
    channels: { online: '网络平台', hotline: '服务热线' },
    handling_types: { immediate: '即办件', escalated: '上报件' },
    feedback_methods: { in_person: '上门答复' },
    statuses: { registered: '已登记' },
  },
}

describe('labels from /api/v1/vocabulary', () => {
  it('looks a code up in its list', () => {
    expect(label(vocab, 'handling_types', 'immediate')).toBe('即办件')
    expect(label(vocab, 'channels', 'hotline')).toBe('服务热线')
    expect(label(vocab, 'statuses', 'registered')).toBe('已登记')
  })
  it('marks a code it does not know instead of passing it off as Chinese', () => {
    expect(label(vocab, 'statuses', 'teleported')).toBe('〔teleported〕')
    expect(label(vocab, 'statuses', null)).toBe('—')
  })
  it('reads channel labels from the older shape too', () => {
    expect(label({ ...vocab, labels: undefined }, 'channels', 'online')).toBe('网络平台')
  })
  it('gives select options in the API order', () => {
    expect(options(vocab, 'handling_types')).toEqual([
      { value: 'immediate', label: '即办件' },
      { value: 'escalated', label: '上报件' },
    ])
  })
})

describe('case actions', () => {
  it('offers exactly the allowed actions this role may call', () => {
    const allowed = ['accept', 'escalate', 'reopen', 'resolve', 'return', 'start']
    expect(actionsFor(allowed, 'community_admin').map((a) => a.code)).toEqual(['accept', 'escalate', 'resolve', 'return', 'start'])
    expect(actionsFor(allowed, 'unit_handler').map((a) => a.code)).toEqual(['accept', 'resolve', 'start'])
    expect(actionsFor(['bureau_accept', 'bureau_return'], 'bureau_handler').map((a) => a.label)).toEqual(['签收', '退回社区'])
    expect(actionsFor(['bureau_accept'], 'community_admin')).toEqual([])
    // routing's newer answer: endpoint path segments, already filtered to the caller
    expect(actionsFor(['bureau/accept', 'bureau/resolve', 'bureau/return'], 'bureau_handler').map((a) => a.code)).toEqual([
      'bureau_accept',
      'bureau_resolve',
      'bureau_return',
    ])
    expect(actionsFor(['request-supplement', 'resolve'], 'unit_handler').map((a) => a.code)).toEqual(['request_supplement', 'resolve'])
  })
  it('builds the body with the version seen and checks required fields', () => {
    expect(actionBody(ACTIONS.classify, { handling_type: 'committed', committed_days: '5', reason: '' }, 3)).toEqual({
      handling_type: 'committed',
      committed_days: 5,
      version: 3,
    })
    expect(missingFields(ACTIONS.bureau_return, {})).toEqual(['理由'])
  })
})

describe('menus per role', () => {
  it('lands each role on its own first page', () => {
    expect(homeFor('community_admin')).toBe('/workbench')
    expect(homeFor('resident')).toBe('/me/raise')
    expect(homeFor('bureau_handler')).toBe('/bureau')
    expect(homeFor('district_admin')).toBe('/district')
    expect(menuFor('deputy').map((m) => m.title)).toEqual(['我关注的诉求', '督办记录'])
  })
  it('gives community staff the points, supervision, meetings, visits, polls and settings pages', () => {
    expect(menuFor('community_admin').map((m) => m.title).slice(4)).toEqual(['党员积分', '督办', '热点与联席会议', '走访', '议事表决', '设置'])
    expect(mayVisit('grid_member', '/points')).toBe(false)
    expect(mayVisit('deputy', '/supervision')).toBe(true)
    expect(mayVisit('deputy', '/settings')).toBe(false)
    expect(mayVisit('district_admin', '/settings')).toBe(true)
  })
  it('keeps residents out of the staff pages', () => {
    expect(mayVisit('resident', '/ledger')).toBe(false)
    expect(mayVisit('resident', '/me/cases')).toBe(true)
    expect(mayVisit('community_admin', '/cases/abc')).toBe(true)
  })
})

import { filtersFromQuery, toCsv } from './ledger'

describe('ledger helpers', () => {
  it('keeps only the API filters from the page URL', () => {
    expect(filtersFromQuery({ overdue: 'true', community: 'maxian', sort: 'x', q: '' })).toEqual({ overdue: 'true', community: 'maxian' })
  })
  it('writes a CSV Excel opens as UTF-8, quoting what needs it and defusing formulas', () => {
    expect(toCsv(['编号', '标题'], [['MX-1', '电梯, 故障'], ['MX-2', '=1+1']])).toBe('\ufeff编号,标题\r\nMX-1,"电梯, 故障"\r\nMX-2,"\'=1+1"\r\n')
  })
})

import { searchWords } from './dupes'

describe('duplicate search words', () => {
  it('takes up to three phrases of the title, four characters each', () => {
    expect(searchWords('3号楼电梯故障，老人无法下楼')).toEqual(['3号楼电', '老人无法'])
    expect(searchWords('路灯不亮 / 井盖松动 / 垃圾 / 噪音')).toEqual(['路灯不亮', '井盖松动', '垃圾'])
    expect(searchWords('灯')).toEqual([])
  })
})

import { rateSeries, tooltipLine } from './charts'

describe('rate charts', () => {
  it('turns rates into percentages and keeps numerator and denominator for the tooltip', () => {
    const [series] = rateSeries([{ group: 'g1', response_rate: { value: 0.9667, numerator: 29, denominator: 30 } }, { group: 'g2' }], [['response_rate', '响应率']])
    expect(series.name).toBe('响应率')
    expect(series.data).toEqual([{ value: 96.7, n: 29, d: 30 }, { value: null, n: 0, d: 0 }])
    expect(tooltipLine('响应率', series.data[0])).toBe('响应率：96.7%（29/30）')
  })
})
