// The case actions a page may offer: exactly those in routing's `allowed_actions` that this role can call
// over HTTP. Each names its endpoint and the fields its small form asks for (the OpenAPI bodies).
export type FieldKind = 'text' | 'textarea' | 'handling_type' | 'number' | 'outcome' | 'handler' | 'bureau'

export interface ActionField {
  name: string
  label: string
  kind: FieldKind
  required: boolean
}

export interface CaseAction {
  code: string
  label: string
  path: string // under /cases/{id}/
  roles: string[]
  fields: ActionField[]
  danger?: boolean
}

const STAFF = ['grid_member', 'community_admin', 'district_admin']
const HANDLERS = [...STAFF, 'unit_handler']
const reason = (required: boolean): ActionField => ({ name: 'reason', label: '理由', kind: 'textarea', required })

export const ACTIONS: Record<string, CaseAction> = {
  classify: {
    code: 'classify',
    label: '分类',
    path: 'classify',
    roles: STAFF,
    fields: [
      { name: 'handling_type', label: '办理类型', kind: 'handling_type', required: true },
      { name: 'committed_days', label: '承诺工作日', kind: 'number', required: false },
      reason(false),
    ],
  },
  assign: {
    code: 'assign',
    label: '派单',
    path: 'assign',
    roles: STAFF,
    fields: [
      { name: 'handler', label: '承办人', kind: 'handler', required: true },
      reason(false),
    ],
  },
  accept: { code: 'accept', label: '接单', path: 'accept', roles: HANDLERS, fields: [reason(false)] },
  start: { code: 'start', label: '开始办理', path: 'start', roles: HANDLERS, fields: [reason(false)] },
  request_supplement: {
    code: 'request_supplement',
    label: '要求补充材料',
    path: 'request-supplement',
    roles: HANDLERS,
    fields: [reason(true)],
  },
  supplement_received: {
    code: 'supplement_received',
    label: '材料已补齐',
    path: 'supplement-received',
    roles: HANDLERS,
    fields: [reason(false)],
  },
  resolve: {
    code: 'resolve',
    label: '办结',
    path: 'resolve',
    roles: HANDLERS,
    fields: [
      { name: 'summary', label: '办理结果', kind: 'textarea', required: true },
      { name: 'outcome', label: '采纳结果（建议件）', kind: 'outcome', required: false },
      reason(false),
    ],
  },
  return: { code: 'return', label: '退回待派', path: 'return', roles: STAFF, fields: [reason(true)], danger: true },
  escalate: {
    code: 'escalate',
    label: '上报区直部门',
    path: 'escalate',
    roles: STAFF,
    fields: [{ name: 'bureau', label: '区直部门', kind: 'bureau', required: true }, reason(true)],
  },
  bureau_accept: {
    code: 'bureau_accept',
    label: '签收',
    path: 'bureau/accept',
    roles: ['bureau_handler'],
    fields: [reason(false)],
  },
  bureau_return: {
    code: 'bureau_return',
    label: '退回社区',
    path: 'bureau/return',
    roles: ['bureau_handler'],
    fields: [reason(true)],
    danger: true,
  },
  bureau_resolve: {
    code: 'bureau_resolve',
    label: '办结',
    path: 'bureau/resolve',
    roles: ['bureau_handler'],
    fields: [{ name: 'summary', label: '办理结果', kind: 'textarea', required: true }, reason(false)],
  },
}

const BY_PATH: Record<string, CaseAction> = Object.fromEntries(Object.values(ACTIONS).map((a) => [a.path, a]))

/** The buttons for a case: its allowed actions, in routing's order, that this role may call. Routing names
 * them by endpoint path segment (`bureau/accept`, already filtered to the caller) or by action code. */
export function actionsFor(allowed: string[], role: string): CaseAction[] {
  return allowed
    .map((name) => BY_PATH[name] ?? ACTIONS[name])
    .filter((a): a is CaseAction => !!a && a.roles.includes(role))
}

/** The request body of an action: the form's non-empty values, numbers as numbers, plus the version seen. */
export function actionBody(action: CaseAction, values: Record<string, unknown>, version: number | null | undefined) {
  const body: Record<string, unknown> = {}
  for (const f of action.fields) {
    const v = values[f.name]
    if (v === undefined || v === null || v === '') continue
    body[f.name] = f.kind === 'number' ? Number(v) : v
  }
  if (version !== undefined && version !== null) body.version = version
  return body
}

export function missingFields(action: CaseAction, values: Record<string, unknown>): string[] {
  return action.fields.filter((f) => f.required && (values[f.name] === undefined || values[f.name] === '')).map((f) => f.label)
}
