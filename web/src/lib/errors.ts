// What went wrong, in Chinese, from an RFC 7807 problem: by its `type` first, then its status, with the
// fields it names. Types the gateway may distinguish (stale version, illegal step, reused key …) are listed
// by the last segment of their URI so both `urn:minqing:problem:conflict` and finer types map.
export interface Problem {
  type?: string
  title?: string
  status?: number
  detail?: string
  errors?: Record<string, unknown>
  correlation_id?: string
}

const BY_TYPE: Record<string, string> = {
  'stale-version': '该诉求已被他人更新，请刷新后再操作',
  'version-conflict': '该诉求已被他人更新，请刷新后再操作',
  'illegal-step': '诉求当前的状态不允许这一步操作',
  'illegal-transition': '诉求当前的状态不允许这一步操作',
  'idempotency-key-reused': '同一次提交的内容被改动，请重新提交',
  'reused-key': '同一次提交的内容被改动，请重新提交',
  'not-found': '没有找到，或不在您的管辖范围内',
  'validation-failed': '填写的内容有误',
  'bad-request': '请求有误',
  unauthorized: '登录已失效，请重新登录',
  'invalid-credentials': '用户名或密码错误',
  'sign-in-locked': '尝试次数过多，请稍后再试',
  'invalid-code': '验证码错误或已过期',
  forbidden: '您的角色无权进行此操作',
  'too-many-requests': '操作过于频繁，请稍后再试',
  locked: '尝试次数过多，账号已暂时锁定，请稍后再试',
  'payload-too-large': '提交的内容过大',
  'unsupported-media-type': '提交的格式不被支持',
  'service-unavailable': '服务暂时不可用，请稍后重试',
  'internal-error': '系统内部错误，请联系管理员',
  conflict: '操作冲突',
}

const BY_STATUS: Record<number, string> = {
  400: BY_TYPE['bad-request'],
  401: BY_TYPE.unauthorized,
  403: BY_TYPE.forbidden,
  404: BY_TYPE['not-found'],
  409: BY_TYPE.conflict,
  413: BY_TYPE['payload-too-large'],
  415: BY_TYPE['unsupported-media-type'],
  422: BY_TYPE['validation-failed'],
  423: BY_TYPE.locked,
  429: BY_TYPE['too-many-requests'],
  500: BY_TYPE['internal-error'],
  503: BY_TYPE['service-unavailable'],
}

export const FIELD_LABELS: Record<string, string> = {
  community: '社区',
  channel: '渠道',
  title: '标题',
  description: '诉求描述',
  category: '类别',
  reporter: '反映人',
  'reporter.name': '反映人姓名',
  'reporter.phone': '联系电话',
  location: '位置',
  'location.building': '楼栋',
  'location.address': '地址',
  reason: '理由',
  version: '版本',
  handling_type: '办理类型',
  committed_days: '承诺天数',
  deadline: '期限',
  handler: '承办人',
  handler_kind: '承办人类型',
  bureau: '区直部门',
  summary: '办理结果',
  outcome: '采纳结果',
  method: '答复方式',
  content: '答复内容',
  satisfied: '是否满意',
  score: '评分',
  comment: '评价意见',
  username: '用户名',
  password: '密码',
  phone: '手机号',
  code: '验证码',
  into: '合并到',
  q: '关键词',
  from: '开始时间',
  to: '结束时间',
  period: '统计周期',
  _schema: '提交内容',
}

export function fieldLabel(field: string): string {
  return FIELD_LABELS[field] ?? FIELD_LABELS[field.split('.').slice(-1)[0]] ?? field
}

/** The API's English validation messages, in Chinese where the pattern is known. */
export function fieldMessage(message: string): string {
  if (/Missing data for required field/i.test(message)) return '必填'
  if (/Field may not be null/i.test(message)) return '不能为空'
  if (/must be one of/i.test(message)) return '取值不在可选范围内'
  if (/Not a valid boolean/i.test(message)) return '应为“是”或“否”'
  if (/Not a valid integer|Not a valid number/i.test(message)) return '应为数字'
  if (/Not a valid (datetime|date)/i.test(message)) return '日期时间格式不正确'
  if (/Length must be between (\d+) and (\d+)/i.test(message)) {
    const [, a, b] = message.match(/between (\d+) and (\d+)/i)!
    return `长度应在 ${a} 到 ${b} 个字之间`
  }
  if (/Shorter than minimum length (\d+)/i.test(message)) return `至少 ${message.match(/(\d+)/)![1]} 个字`
  if (/Longer than maximum length (\d+)/i.test(message)) return `最多 ${message.match(/(\d+)/)![1]} 个字`
  if (/String does not match expected pattern|does not match/i.test(message)) return '格式不正确'
  if (/Unknown field/i.test(message)) return '不认识的字段'
  if (/Must be greater than or equal to (\S+) and less than or equal to (\S+)/i.test(message)) {
    const [, a, b] = message.match(/equal to (\S+) and less than or equal to (\S+?)\.?$/i) ?? []
    return a && b ? `应在 ${a} 到 ${b} 之间` : '超出范围'
  }
  if (/[\u4e00-\u9fff]/.test(message)) return message // already Chinese (Accept-Language: zh-CN)
  return message
}

function flatten(errors: unknown, prefix = ''): [string, string][] {
  if (Array.isArray(errors)) {
    return errors.flatMap((e) => (typeof e === 'string' ? [[prefix || '_schema', e] as [string, string]] : flatten(e, prefix)))
  }
  if (errors && typeof errors === 'object') {
    return Object.entries(errors as Record<string, unknown>).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k))
  }
  if (typeof errors === 'string') return [[prefix || '_schema', errors]]
  return []
}

export interface ExplainedError {
  message: string
  fields: { field: string; label: string; message: string }[]
}

/** A problem as the console shows it: one Chinese sentence and the fields it names. */
export function explain(problem: Problem | null | undefined): ExplainedError {
  const kind = (problem?.type ?? '').split(/[:/]/).pop() ?? ''
  const detail = problem?.detail ?? ''
  let message = BY_TYPE[kind] ?? BY_STATUS[problem?.status ?? 0] ?? '操作失败'
  if (kind === 'conflict' || (!BY_TYPE[kind] && problem?.status === 409)) {
    if (/version/i.test(detail)) message = BY_TYPE['stale-version']
    else if (/allowed from|cannot /i.test(detail)) message = BY_TYPE['illegal-step']
    else if (/Idempotency/i.test(detail)) message = BY_TYPE['reused-key']
  }
  if (problem?.status === 500 && problem.correlation_id) message += `（编号 ${problem.correlation_id}）`
  const fields = flatten(problem?.errors).map(([field, msg]) => ({
    field,
    label: fieldLabel(field),
    message: fieldMessage(msg),
  }))
  return { message, fields }
}

/** One line for a toast: "填写的内容有误：标题：必填；联系电话：格式不正确". */
export function describe(problem: Problem | null | undefined): string {
  const { message, fields } = explain(problem)
  if (!fields.length) return message
  return `${message}：${fields.map((f) => `${f.label}：${f.message}`).join('；')}`
}
