// ECharts, on demand: only the bar chart and the components the pages use.
import { BarChart } from 'echarts/charts'
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components'
import { init, use } from 'echarts/core'
import { CanvasRenderer } from 'echarts/renderers'

use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer])
export { init }

export const RATE_NAMES: [string, string][] = [
  ['response_rate', '响应率'],
  ['on_time_rate', '按时办结率'],
  ['resolution_rate', '办结率'],
  ['satisfaction_rate', '满意率'],
  ['reopen_rate', '重办率'],
]

export interface Rate {
  value: number | null
  numerator: number
  denominator: number
}

/** Bars per group for each rate, with the numerator and denominator kept for the tooltip. */
export function rateSeries(groups: { group: string; [k: string]: any }[], names: [string, string][] = RATE_NAMES) {
  return names.map(([key, name]) => ({
    name,
    type: 'bar' as const,
    data: groups.map((g) => {
      const r: Rate | undefined = g[key]
      return { value: r?.value === null || r?.value === undefined ? null : +(r.value * 100).toFixed(1), n: r?.numerator ?? 0, d: r?.denominator ?? 0 }
    }),
  }))
}

export function tooltipLine(seriesName: string, point: { value: number | null; n: number; d: number }): string {
  return `${seriesName}：${point.value === null ? '—' : point.value + '%'}（${point.n}/${point.d}）`
}
