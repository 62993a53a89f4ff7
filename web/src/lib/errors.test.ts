import { describe, expect, it } from 'vitest'
import { describe as describeProblem, explain } from './errors'

describe('problems in Chinese', () => {
  it('names the invalid fields with their Chinese labels', () => {
    const e = explain({
      type: 'urn:minqing:problem:validation-failed',
      status: 422,
      errors: { title: ['Missing data for required field.'], reporter: { phone: ['String does not match expected pattern.'] } },
    })
    expect(e.message).toBe('填写的内容有误')
    expect(e.fields).toEqual([
      { field: 'title', label: '标题', message: '必填' },
      { field: 'reporter.phone', label: '联系电话', message: '格式不正确' },
    ])
  })
  it('tells a stale version from an illegal step within the generic conflict type', () => {
    expect(explain({ type: 'urn:minqing:problem:conflict', status: 409, detail: 'stale version: case is at version 4, you sent 3' }).message).toBe(
      '该诉求已被他人更新，请刷新后再操作',
    )
    expect(
      explain({ type: 'urn:minqing:problem:conflict', status: 409, detail: 'cannot resolve a case that is registered; allowed from registered: classify' }).message,
    ).toBe('诉求当前的状态不允许这一步操作')
  })
  it('maps finer problem types by their last segment', () => {
    expect(explain({ type: 'https://minqing.example/problems/stale-version', status: 409 }).message).toBe('该诉求已被他人更新，请刷新后再操作')
    expect(explain({ type: 'urn:minqing:problem:not-found', status: 404 }).message).toBe('没有找到，或不在您的管辖范围内')
  })
  it('falls back to the status, and quotes the correlation id of an internal error', () => {
    expect(explain({ status: 403 }).message).toBe('您的角色无权进行此操作')
    expect(explain({ status: 500, correlation_id: 'abc' }).message).toBe('系统内部错误，请联系管理员（编号 abc）')
  })
  it('makes one line for a toast', () => {
    expect(describeProblem({ status: 422, errors: { reason: ['Length must be between 1 and 500.'] } })).toBe(
      '填写的内容有误：理由：长度应在 1 到 500 个字之间',
    )
  })
})
