import type { Component } from 'vue';
import type { IconName } from '../components/icons';

/**
 * The workbench's sections: one list that the router and the sidebar both read, so a new view
 * costs one entry here. Detail routes of a section (e.g. `/experiments/:id`) live under its
 * path, and the sidebar keeps the section highlighted on them.
 */
export interface Section {
  /** Route name. */
  name: string;
  path: string;
  title: string;
  icon: IconName;
  /** One line for the sidebar's tooltip. */
  description: string;
  /** Pinned to the bottom of the sidebar (System). */
  pinned?: boolean;
  component: () => Promise<Component>;
  /** Pages under this section (their paths start with `path`); the sidebar keeps the section marked on them. */
  details?: readonly SectionDetail[];
}

export interface SectionDetail {
  name: string;
  /** With route params, e.g. `/experiments/:id` (passed to the component as props). */
  path: string;
  /** The header's title while it is open. */
  title: string;
  component: () => Promise<Component>;
}

export const sections: readonly Section[] = [
  {
    name: 'models',
    path: '/models',
    title: 'Models',
    icon: 'models',
    description: 'Float and quantized models: layers, shapes, parameters, MACs',
    component: () => import('../views/ModelsView.vue'),
  },
  {
    name: 'datasets',
    path: '/datasets',
    title: 'Datasets',
    icon: 'datasets',
    description: 'Calibration and evaluation data, built-in and your own',
    component: () => import('../views/DatasetsView.vue'),
  },
  {
    name: 'experiments',
    path: '/experiments',
    title: 'Experiments',
    icon: 'experiments',
    description: 'Every quantization run with its config, metrics and artifacts',
    component: () => import('../views/ExperimentsView.vue'),
    details: [
      {
        name: 'experiment',
        path: '/experiments/:id',
        title: 'Experiments',
        component: () => import('../views/ExperimentDetailView.vue'),
      },
    ],
  },
  {
    name: 'compare',
    path: '/compare',
    title: 'Compare',
    icon: 'compare',
    description: 'Accuracy against latency across experiments and devices',
    component: () => import('../views/CompareView.vue'),
  },
  {
    name: 'devices',
    path: '/devices',
    title: 'Devices',
    icon: 'devices',
    description: 'Android phones over USB: facts and benchmarks',
    component: () => import('../views/DevicesView.vue'),
  },
  {
    name: 'reports',
    path: '/reports',
    title: 'Reports',
    icon: 'reports',
    description: 'Self-contained HTML, PDF, Markdown, CSV and JSON reports',
    component: () => import('../views/ReportsView.vue'),
  },
  {
    name: 'system',
    path: '/system',
    title: 'System',
    icon: 'system',
    description: 'Version, workspace and what this machine has (quantlab doctor)',
    pinned: true,
    component: () => import('../views/SystemView.vue'),
  },
];

/** The section a path belongs to (its own page or one of its detail pages). */
export function sectionOf(path: string): Section | undefined {
  return sections.find((s) => path === s.path || path.startsWith(`${s.path}/`));
}
