// Chinese labels for the API's codes, read from GET /api/v1/vocabulary (never a hand-written copy).
export interface Vocabulary {
  channels: { code: string; label: string }[]
  handling_types: string[]
  feedback_methods: string[]
  statuses?: string[]
  supervision_kinds?: string[]
  roles?: string[]
  member_statuses?: string[]
  entry_kinds?: string[]
  award_statuses?: string[]
  redemption_statuses?: string[]
  supervisor_types?: string[]
  supervision_targets?: string[]
  hot_issue_statuses?: string[]
  agenda_statuses?: string[]
  project_statuses?: string[]
  visit_kinds?: string[]
  visit_statuses?: string[]
  poll_options?: string[]
  poll_statuses?: string[]
  poll_bases?: string[]
  calendar_day_kinds?: string[]
  calendar_sources?: string[]
  labels?: Record<string, Record<string, string>>
}

export type VocabularyKind =
  | 'channels'
  | 'handling_types'
  | 'feedback_methods'
  | 'statuses'
  | 'supervision_kinds'
  | 'roles'
  | 'member_statuses'
  | 'entry_kinds'
  | 'award_statuses'
  | 'redemption_statuses'
  | 'supervisor_types'
  | 'supervision_targets'
  | 'hot_issue_statuses'
  | 'agenda_statuses'
  | 'project_statuses'
  | 'visit_kinds'
  | 'visit_statuses'
  | 'poll_options'
  | 'poll_statuses'
  | 'poll_bases'
  | 'calendar_day_kinds'
  | 'calendar_sources'

export function labelsOf(vocab: Vocabulary | null, kind: VocabularyKind): Record<string, string> {
  if (!vocab) return {}
  if (vocab.labels?.[kind]) return vocab.labels[kind]
  if (kind === 'channels') return Object.fromEntries(vocab.channels.map((c) => [c.code, c.label]))
  return {}
}

/** The Chinese label of a code; an unknown code is shown as itself in brackets so it stands out. */
export function label(vocab: Vocabulary | null, kind: VocabularyKind, code: string | null | undefined): string {
  if (!code) return '—'
  return labelsOf(vocab, kind)[code] ?? `〔${code}〕`
}

/** [{value: code, label: 中文}] in the API's order, for selects. */
export function options(vocab: Vocabulary | null, kind: VocabularyKind): { value: string; label: string }[] {
  if (!vocab) return []
  const codes: string[] =
    kind === 'channels' ? vocab.channels.map((c) => c.code) : ((vocab as unknown as Record<string, string[]>)[kind] ?? [])
  return codes.map((code) => ({ value: code, label: label(vocab, kind, code) }))
}
