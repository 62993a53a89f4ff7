// What each role sees (shared/design/CONSOLE.md, "Who, where, on what"): only pages the console has.
export interface MenuItem {
  path: string
  title: string
  icon: string
}

const STAFF: MenuItem[] = [
  { path: '/workbench', title: '工作台', icon: 'Monitor' },
  { path: '/ledger', title: '民情台账', icon: 'Tickets' },
  { path: '/register', title: '登记诉求', icon: 'EditPen' },
  { path: '/stats', title: '统计分析', icon: 'DataAnalysis' },
]

export const MENUS: Record<string, MenuItem[]> = {
  community_admin: [
    ...STAFF,
    { path: '/points', title: '党员积分', icon: 'Medal' },
    { path: '/supervision', title: '督办', icon: 'Flag' },
    { path: '/meetings', title: '热点与联席会议', icon: 'ChatDotRound' },
    { path: '/visits', title: '走访', icon: 'Location' },
    { path: '/polls', title: '议事表决', icon: 'Histogram' },
    { path: '/settings', title: '设置', icon: 'Setting' },
  ],
  grid_member: [
    { path: '/workbench', title: '我的待办', icon: 'Monitor' },
    { path: '/ledger', title: '民情台账', icon: 'Tickets' },
    { path: '/register', title: '登记诉求', icon: 'EditPen' },
    { path: '/stats', title: '统计', icon: 'DataAnalysis' },
  ],
  unit_handler: [{ path: '/ledger', title: '我的待办', icon: 'Tickets' }],
  bureau_handler: [
    { path: '/bureau', title: '部门待办', icon: 'Tickets' },
    { path: '/bureau/done', title: '已办结', icon: 'CircleCheck' },
  ],
  district_admin: [
    { path: '/district', title: '全区概览', icon: 'DataBoard' },
    { path: '/ledger', title: '民情台账', icon: 'Tickets' },
    { path: '/stats', title: '统计分析', icon: 'DataAnalysis' },
    { path: '/settings', title: '设置', icon: 'Setting' },
  ],
  deputy: [
    { path: '/following', title: '我关注的诉求', icon: 'Star' },
    { path: '/supervision', title: '督办记录', icon: 'Flag' },
  ],
  resident: [
    { path: '/me/raise', title: '我要反映', icon: 'EditPen' },
    { path: '/me/cases', title: '我的诉求', icon: 'Tickets' },
  ],
}

/** Roles that work on a phone get a tab bar there (375 px); the office roles keep the sidebar. */
export const PHONE_ROLES = new Set(['resident', 'grid_member', 'unit_handler', 'deputy'])

export function menuFor(role: string | undefined): MenuItem[] {
  return (role && MENUS[role]) || []
}

export function homeFor(role: string | undefined): string {
  return menuFor(role)[0]?.path ?? '/login'
}

export function mayVisit(role: string | undefined, path: string): boolean {
  if (path === '/login') return true
  if (path.startsWith('/cases/')) return !!role
  return menuFor(role).some((m) => path === m.path || path.startsWith(m.path + '/'))
}
