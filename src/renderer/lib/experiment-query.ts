import type { LocationQuery, LocationQueryRaw } from 'vue-router';
import {
  DEFAULT_QUERY,
  EXPERIMENT_STATUSES,
  MAX_PAGE_SIZE,
  MAX_SEARCH_LENGTH,
  SORT_KEYS,
  type ExperimentQuery,
  type ExperimentSortKey,
  type ExperimentStatus,
} from '../stores/experiments';

/**
 * The list's query in the address (`#/experiments?q=resnet&status=completed&sort=name&order=asc&page=2&limit=50`),
 * so a filtered list survives a reload and can be linked. Only what differs from the defaults is written.
 */
function first(value: LocationQuery[string] | undefined): string | null {
  const v = Array.isArray(value) ? value[0] : value;
  return typeof v === 'string' ? v : null;
}

function positiveInt(value: string | null): number | null {
  if (value === null || !/^\d{1,6}$/.test(value)) return null;
  const n = Number(value);
  return n > 0 ? n : null;
}

export function hasListQuery(q: LocationQuery): boolean {
  return ['q', 'status', 'kind', 'tag', 'sort', 'order', 'page', 'limit'].some((k) => k in q);
}

export function parseListQuery(q: LocationQuery): ExperimentQuery {
  const status = first(q.status);
  const sort = first(q.sort);
  const order = first(q.order);
  const limit = Math.min(MAX_PAGE_SIZE, positiveInt(first(q.limit)) ?? DEFAULT_QUERY.limit);
  const page = positiveInt(first(q.page)) ?? 1;
  return {
    text: (first(q.q) ?? '').slice(0, MAX_SEARCH_LENGTH),
    status: EXPERIMENT_STATUSES.includes(status as ExperimentStatus) ? (status as ExperimentStatus) : null,
    kind: first(q.kind) || null,
    tag: first(q.tag) || null,
    sort: SORT_KEYS.includes(sort as ExperimentSortKey) ? (sort as ExperimentSortKey) : DEFAULT_QUERY.sort,
    order: order === 'asc' || order === 'desc' ? order : DEFAULT_QUERY.order,
    offset: (page - 1) * limit,
    limit,
  };
}

export function serializeListQuery(query: ExperimentQuery): LocationQueryRaw {
  const out: Record<string, string> = {};
  if (query.text.trim()) out.q = query.text;
  if (query.status) out.status = query.status;
  if (query.kind) out.kind = query.kind;
  if (query.tag) out.tag = query.tag;
  if (query.sort !== DEFAULT_QUERY.sort || query.order !== DEFAULT_QUERY.order) {
    out.sort = query.sort;
    out.order = query.order;
  }
  const page = Math.floor(query.offset / query.limit) + 1;
  if (page > 1) out.page = String(page);
  if (query.limit !== DEFAULT_QUERY.limit) out.limit = String(query.limit);
  return out;
}

/** Same query in the address? (values as strings, order of keys ignored) */
export function sameListQuery(a: LocationQuery | LocationQueryRaw, b: LocationQuery | LocationQueryRaw): boolean {
  const norm = (q: LocationQuery | LocationQueryRaw) =>
    JSON.stringify(
      Object.entries(q)
        .filter(([, v]) => v !== undefined && v !== null)
        .map(([k, v]) => [k, String(Array.isArray(v) ? v[0] : v)])
        .sort(([x], [y]) => String(x).localeCompare(String(y))),
    );
  return norm(a) === norm(b);
}
