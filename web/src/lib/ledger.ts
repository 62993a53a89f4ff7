// The ledger's filters as they travel in the page URL and to GET /api/v1/cases (the API's own names).
export const FILTERS = ['community', 'status', 'handling_type', 'channel', 'grid', 'handler', 'overdue', 'q', 'from', 'to'] as const
export type Filters = Partial<Record<(typeof FILTERS)[number], string>>

export function filtersFromQuery(query: Record<string, unknown>): Filters {
  const f: Filters = {}
  for (const k of FILTERS) {
    const v = query[k]
    if (typeof v === 'string' && v !== '') f[k] = v
  }
  return f
}

/** One CSV line per case, with a BOM so Excel opens the Chinese text as UTF-8. */
export function toCsv(header: string[], rows: (string | number | null | undefined)[][]): string {
  const cell = (v: string | number | null | undefined) => {
    const s = v === null || v === undefined ? '' : String(v)
    return /[",\n\r]/.test(s) || /^[=+\-@]/.test(s) ? `"${s.replace(/^([=+\-@])/, "'$1").replace(/"/g, '""')}"` : s
  }
  return '\ufeff' + [header, ...rows].map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n'
}
