import { defineStore } from 'pinia';
import { computed, reactive, ref } from 'vue';
import type { ExperimentDetail, ExperimentListRequest, ExperimentPage, ExperimentSummary } from '../../shared/api/contract';
import { useApi } from '../composables/useApi';
import { toErrorInfo, type ErrorInfo } from '../lib/errors';
import { plural } from '../lib/format';
import { useJobsStore } from './jobs';

export type ExperimentStatus = ExperimentSummary['status'];
export type ExperimentSortKey = NonNullable<ExperimentListRequest['sort']>;
export type SortOrder = NonNullable<ExperimentListRequest['order']>;

export const EXPERIMENT_STATUSES: readonly ExperimentStatus[] = ['running', 'completed', 'failed', 'cancelled', 'interrupted'];
export const SORT_KEYS: readonly ExperimentSortKey[] = ['createdAt', 'name', 'status', 'kind'];
export const PAGE_SIZES: readonly number[] = [10, 25, 50, 100, 200];
/** The contract's bounds for `experiments.list`. */
export const MAX_PAGE_SIZE = 500;
export const MAX_SEARCH_LENGTH = 200;

/** What the list shows: filters, sort and the page, exactly what `experiments.list` is asked. */
export interface ExperimentQuery {
  text: string;
  status: ExperimentStatus | null;
  kind: string | null;
  tag: string | null;
  sort: ExperimentSortKey;
  order: SortOrder;
  offset: number;
  limit: number;
}

export const DEFAULT_QUERY: Readonly<ExperimentQuery> = Object.freeze({
  text: '',
  status: null,
  kind: null,
  tag: null,
  sort: 'createdAt',
  order: 'desc',
  offset: 0,
  limit: 25,
});

/** The natural first direction of each column: newest first, names A→Z. */
export const DEFAULT_ORDER: Record<ExperimentSortKey, SortOrder> = { createdAt: 'desc', name: 'asc', status: 'asc', kind: 'asc' };

/** Kinds and tags for the filter menus, read from the store over its first FACET_LIMIT experiments. */
const FACET_LIMIT = MAX_PAGE_SIZE;
const REFRESH_DEBOUNCE_MS = 250;

export interface Flash {
  tone: 'ok' | 'info';
  message: string;
}

function toRequest(q: ExperimentQuery): ExperimentListRequest {
  const request: ExperimentListRequest = { sort: q.sort, order: q.order, offset: q.offset, limit: q.limit };
  const text = q.text.trim();
  if (text) request.text = text;
  if (q.status) request.status = q.status;
  if (q.kind) request.kind = q.kind;
  if (q.tag) request.tag = q.tag;
  return request;
}

function summaryOf(detail: ExperimentDetail): ExperimentSummary {
  const { id, name, kind, status, tags, notes, createdAt, finishedAt, modelSha256, datasetSha256, appVersion, seed, roundingMode, metrics } = detail;
  return { id, name, kind, status, tags, notes, createdAt, finishedAt, modelSha256, datasetSha256, appVersion, seed, roundingMode, metrics };
}

/**
 * The experiments of the workspace: the list (server-side filter, sort and paging through
 * `experiments.list`), the filter menus, the experiment open in the detail page and its edits
 * (`experiments.tag`, `.note`, `.delete`, `jobs.cancel`). It refreshes itself when a job starts
 * or ends (see the jobs store), so a finished run shows its status and metrics without a reload.
 */
export const useExperimentsStore = defineStore('experiments', () => {
  const api = useApi();
  const jobsStore = useJobsStore();

  // ---- the list ---------------------------------------------------------------------------

  const query = reactive<ExperimentQuery>({ ...DEFAULT_QUERY });
  const page = ref<ExperimentPage | null>(null);
  const loading = ref(false);
  const error = ref<ErrorInfo | null>(null);
  /** The query the shown page answers (the request may have been clamped to the last page). */
  const shownQuery = ref<ExperimentQuery | null>(null);

  const facets = ref<{ kinds: string[]; tags: string[]; total: number; partial: boolean } | null>(null);
  const facetsError = ref<ErrorInfo | null>(null);

  /** A one-off message for the list (e.g. after a delete); the view clears it. */
  const flash = ref<Flash | null>(null);

  let listSeq = 0;
  let facetsSeq = 0;
  let refreshTimer: ReturnType<typeof setTimeout> | null = null;

  const items = computed(() => page.value?.items ?? []);
  const total = computed(() => page.value?.total ?? 0);
  const filtered = computed(() => Boolean(query.text.trim() || query.status || query.kind || query.tag));
  /** No experiment at all in the workspace (not just none matching the filters). */
  const workspaceEmpty = computed(() => facets.value?.total === 0 || (!filtered.value && page.value?.total === 0));

  async function load(): Promise<void> {
    const seq = ++listSeq;
    const asked = { ...query };
    loading.value = true;
    try {
      let result = await api.invoke('experiments.list', toRequest(asked));
      // Past the end (the last rows were deleted, or a stale link): show the last page instead.
      if (result.items.length === 0 && result.total > 0 && asked.offset > 0) {
        asked.offset = Math.floor((result.total - 1) / asked.limit) * asked.limit;
        result = await api.invoke('experiments.list', toRequest(asked));
      }
      if (seq !== listSeq) return;
      page.value = result;
      shownQuery.value = asked;
      if (query.offset !== asked.offset && seq === listSeq) query.offset = asked.offset;
      error.value = null;
    } catch (e) {
      if (seq === listSeq) error.value = toErrorInfo(e);
    } finally {
      if (seq === listSeq) loading.value = false;
    }
  }

  async function loadFacets(): Promise<void> {
    const seq = ++facetsSeq;
    try {
      const all = await api.invoke('experiments.list', { sort: 'createdAt', order: 'desc', offset: 0, limit: FACET_LIMIT });
      if (seq !== facetsSeq) return;
      const kinds = new Set<string>();
      const tags = new Set<string>();
      for (const e of all.items) {
        kinds.add(e.kind);
        for (const t of e.tags) tags.add(t);
      }
      const sorted = (s: Set<string>) => [...s].sort((a, b) => a.localeCompare(b));
      facets.value = { kinds: sorted(kinds), tags: sorted(tags), total: all.total, partial: all.total > all.items.length };
      facetsError.value = null;
    } catch (e) {
      if (seq === facetsSeq) facetsError.value = toErrorInfo(e);
    }
  }

  /** The list and its filter menus, from the store again. */
  function refresh(): Promise<void> {
    if (refreshTimer !== null) clearTimeout(refreshTimer);
    refreshTimer = null;
    return Promise.all([load(), loadFacets()]).then(() => undefined);
  }

  /** Coalesces bursts (a job's final event and the poll that sees it) into one refresh. */
  function scheduleRefresh(): void {
    if (refreshTimer !== null) clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => void refresh(), REFRESH_DEBOUNCE_MS);
  }

  /**
   * Changes the query and loads the page it names. A new filter or sort starts at the first
   * page; a new page size keeps the first row shown on screen.
   */
  function setQuery(patch: Partial<ExperimentQuery>): Promise<void> {
    const next: ExperimentQuery = { ...query, ...patch };
    next.text = next.text.slice(0, MAX_SEARCH_LENGTH);
    next.limit = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(next.limit)));
    next.offset = Math.max(0, Math.floor(next.offset));
    const refiltered = (['text', 'status', 'kind', 'tag', 'sort', 'order'] as const).some((k) => next[k] !== query[k]);
    if (refiltered && patch.offset === undefined) next.offset = 0;
    else if (next.limit !== query.limit) next.offset = Math.floor(next.offset / next.limit) * next.limit;
    const changed = (Object.keys(next) as (keyof ExperimentQuery)[]).some((k) => next[k] !== query[k]);
    Object.assign(query, next);
    return changed || !page.value ? load() : Promise.resolve();
  }

  /** Takes a whole query as it is (from the address bar) without loading; `refresh()` loads it. */
  function replaceQuery(next: ExperimentQuery): void {
    Object.assign(query, next);
  }

  /** Sorts by a column: its natural direction first, the other one on a second click. */
  function sortBy(key: ExperimentSortKey, patch: Partial<ExperimentQuery> = {}): Promise<void> {
    const order: SortOrder = query.sort === key ? (query.order === 'asc' ? 'desc' : 'asc') : DEFAULT_ORDER[key];
    return setQuery({ ...patch, sort: key, order });
  }

  function clearFilters(): Promise<void> {
    return setQuery({ text: '', status: null, kind: null, tag: null });
  }

  function patchItem(summary: ExperimentSummary): void {
    if (!page.value) return;
    const i = page.value.items.findIndex((e) => e.id === summary.id);
    if (i >= 0) page.value.items.splice(i, 1, summary);
  }

  // ---- the experiment open in the detail page ----------------------------------------------

  const detailId = ref<string | null>(null);
  const detail = ref<ExperimentDetail | null>(null);
  const detailLoading = ref(false);
  const detailError = ref<ErrorInfo | null>(null);
  let detailSeq = 0;

  const notesSaving = ref(false);
  const notesError = ref<ErrorInfo | null>(null);
  const tagsSaving = ref(false);
  const tagsError = ref<ErrorInfo | null>(null);
  const deleting = ref(false);
  const deleteError = ref<ErrorInfo | null>(null);
  const cancelling = ref(false);
  const cancelError = ref<ErrorInfo | null>(null);
  /** When the cancel was asked, until the job's final state arrives. */
  const cancelRequestedAt = ref<number | null>(null);

  function resetDetailActions(): void {
    for (const r of [notesError, tagsError, deleteError, cancelError]) r.value = null;
    cancelRequestedAt.value = null;
  }

  async function loadDetail(): Promise<void> {
    const id = detailId.value;
    if (!id) return;
    const seq = ++detailSeq;
    detailLoading.value = true;
    try {
      const result = await api.invoke('experiments.get', { id });
      if (seq !== detailSeq) return;
      detail.value = result;
      detailError.value = null;
      if (!jobsStore.progressFor(result.id) && result.status !== 'running') cancelRequestedAt.value = null;
      patchItem(summaryOf(result));
    } catch (e) {
      if (seq === detailSeq) {
        detailError.value = toErrorInfo(e);
        detail.value = null;
      }
    } finally {
      if (seq === detailSeq) detailLoading.value = false;
    }
  }

  /** Opens an experiment by id (or unique prefix); keeps what is shown while the same one reloads. */
  function openDetail(id: string): Promise<void> {
    if (id !== detailId.value) {
      detailId.value = id;
      detail.value = null;
      detailError.value = null;
      resetDetailActions();
    }
    return loadDetail();
  }

  function closeDetail(): void {
    detailSeq += 1;
    detailId.value = null;
    detail.value = null;
    detailError.value = null;
    detailLoading.value = false;
    resetDetailActions();
  }

  function applyDetail(result: ExperimentDetail): void {
    if (detail.value?.id === result.id) detail.value = result;
    patchItem(summaryOf(result));
  }

  /** Saves the notes; true when they were saved. */
  async function saveNotes(notes: string): Promise<boolean> {
    const current = detail.value;
    if (!current) return false;
    notesSaving.value = true;
    notesError.value = null;
    try {
      applyDetail(await api.invoke('experiments.note', { id: current.id, notes }));
      return true;
    } catch (e) {
      notesError.value = toErrorInfo(e);
      return false;
    } finally {
      notesSaving.value = false;
    }
  }

  async function changeTags(add: string[], remove: string[]): Promise<boolean> {
    const current = detail.value;
    if (!current) return false;
    tagsSaving.value = true;
    tagsError.value = null;
    try {
      applyDetail(await api.invoke('experiments.tag', { id: current.id, add, remove }));
      void loadFacets();
      return true;
    } catch (e) {
      tagsError.value = toErrorInfo(e);
      return false;
    } finally {
      tagsSaving.value = false;
    }
  }

  function addTags(tags: string[]): Promise<boolean> {
    return changeTags(tags, []);
  }

  function removeTag(tag: string): Promise<boolean> {
    return changeTags([], [tag]);
  }

  /** Deletes the open experiment; true when it is gone (the view then goes back to the list). */
  async function deleteOpen(): Promise<boolean> {
    const current = detail.value;
    if (!current) return false;
    deleting.value = true;
    deleteError.value = null;
    try {
      const result = await api.invoke('experiments.delete', { id: current.id });
      const files = result.trashedArtifacts;
      flash.value = {
        tone: 'ok',
        message: `Deleted experiment “${current.name}” (${result.id}).${files ? ` ${plural(files, 'artifact file')} no other experiment uses moved to the workspace's trash folder.` : ''}`,
      };
      closeDetail();
      await refresh();
      return true;
    } catch (e) {
      deleteError.value = toErrorInfo(e);
      return false;
    } finally {
      deleting.value = false;
    }
  }

  /** The open experiment's live job, if it has one running. */
  const detailProgress = computed(() => (detail.value ? jobsStore.progressFor(detail.value.id) : undefined));

  /** Asks the open experiment's job to stop. */
  async function cancelOpen(): Promise<boolean> {
    const jobId = detailProgress.value?.jobId ?? detail.value?.jobId;
    if (!jobId) return false;
    cancelling.value = true;
    cancelError.value = null;
    try {
      const job = await jobsStore.cancel(jobId);
      cancelRequestedAt.value = Date.now();
      if (job.status !== 'running' && job.status !== 'queued') await loadDetail();
      return true;
    } catch (e) {
      cancelError.value = toErrorInfo(e);
      return false;
    } finally {
      cancelling.value = false;
    }
  }

  // ---- live ---------------------------------------------------------------------------------

  jobsStore.onChange((change) => {
    if (!change.experimentId) return;
    const listed = items.value.some((e) => e.id === change.experimentId);
    // A finished job changes its row (status, metrics); a new one adds a row.
    if (page.value && (change.type === 'ended' || !listed)) scheduleRefresh();
    if (change.type === 'ended' && detail.value?.id === change.experimentId) void loadDetail();
  });

  return {
    query,
    page,
    items,
    total,
    loading,
    error,
    shownQuery,
    filtered,
    workspaceEmpty,
    facets,
    facetsError,
    flash,
    load,
    loadFacets,
    refresh,
    setQuery,
    replaceQuery,
    sortBy,
    clearFilters,
    detailId,
    detail,
    detailLoading,
    detailError,
    detailProgress,
    notesSaving,
    notesError,
    tagsSaving,
    tagsError,
    deleting,
    deleteError,
    cancelling,
    cancelError,
    cancelRequestedAt,
    openDetail,
    closeDetail,
    loadDetail,
    saveNotes,
    addTags,
    removeTag,
    deleteOpen,
    cancelOpen,
  };
});
