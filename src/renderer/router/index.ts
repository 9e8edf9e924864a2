import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router';
import { sections } from './sections';

declare module 'vue-router' {
  interface RouteMeta {
    /** Shown in the header and the window title. */
    title?: string;
  }
}

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: sections[0].path },
  ...sections.map((s) => ({ path: s.path, name: s.name, component: s.component, meta: { title: s.title } })),
  ...sections.flatMap((s) => (s.details ?? []).map((d) => ({ path: d.path, name: d.name, component: d.component, props: true, meta: { title: d.title } }))),
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('../views/NotFoundView.vue'), meta: { title: 'Not found' } },
];

/**
 * Hash history: Electron loads the renderer from file://, where only the part after '#' can
 * change without a reload; `quantlab serve` then needs no fallback routes either.
 */
export function createAppRouter() {
  const router = createRouter({ history: createWebHashHistory(), routes });
  router.afterEach((to) => {
    document.title = to.meta.title ? `${to.meta.title} · QuantLab` : 'QuantLab';
  });
  return router;
}
