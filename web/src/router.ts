import { createRouter, createWebHistory } from 'vue-router'
import { setOnSignedOut } from './lib/api'
import { homeFor, mayVisit } from './lib/menus'
import { session } from './lib/session'
import MainLayout from './layouts/MainLayout.vue'
import Login from './views/Login.vue'

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/login', component: Login, meta: { title: '登录' } },
    {
      path: '/',
      component: MainLayout,
      children: [
        { path: '', component: Login, beforeEnter: () => homeFor(session.current?.account.role) },
        { path: 'workbench', component: () => import('./views/Workbench.vue'), meta: { title: '工作台' } },
        { path: 'ledger', component: () => import('./views/Ledger.vue'), meta: { title: '民情台账' } },
        { path: 'register', component: () => import('./views/Register.vue'), meta: { title: '登记诉求' } },
        { path: 'cases/:id', component: () => import('./views/CaseDetail.vue'), meta: { title: '诉求详情' } },
        { path: 'stats', component: () => import('./views/Stats.vue'), meta: { title: '统计分析' } },
        { path: 'bureau', component: () => import('./views/BureauTodo.vue'), meta: { title: '部门待办' } },
        { path: 'bureau/done', component: () => import('./views/BureauTodo.vue'), meta: { title: '已办结', done: true } },
        { path: 'district', component: () => import('./views/District.vue'), meta: { title: '全区概览' } },
        { path: 'following', component: () => import('./views/Following.vue'), meta: { title: '我关注的诉求' } },
        { path: 'points', component: () => import('./views/Points.vue'), meta: { title: '党员积分' } },
        { path: 'supervision', component: () => import('./views/Supervision.vue'), meta: { title: '督办' } },
        { path: 'meetings', component: () => import('./views/Meetings.vue'), meta: { title: '热点与联席会议' } },
        { path: 'visits', component: () => import('./views/Visits.vue'), meta: { title: '走访' } },
        { path: 'polls', component: () => import('./views/Polls.vue'), meta: { title: '议事表决' } },
        { path: 'settings', component: () => import('./views/Settings.vue'), meta: { title: '设置' } },
        { path: 'me/raise', component: () => import('./views/resident/Raise.vue'), meta: { title: '我要反映' } },
        { path: 'me/cases', component: () => import('./views/resident/MyCases.vue'), meta: { title: '我的诉求' } },
      ],
    },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
})

router.beforeEach((to) => {
  const role = session.current?.account.role
  if (to.path === '/login') return role ? homeFor(role) : true
  if (!role) return { path: '/login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} }
  if (to.path !== '/' && !mayVisit(role, to.path)) return homeFor(role)
  return true
})

router.afterEach((to) => {
  document.title = `${(to.meta.title as string) ?? '民情'} · 民情`
})

setOnSignedOut(() => router.replace('/login'))
