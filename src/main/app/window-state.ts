/**
 * The main window's size, position and maximized flag, kept in `<userData>/window-state.json`.
 * Reading never trusts the file: anything malformed is ignored, sizes are clamped to the
 * screens we have now, and a position that would put the title bar off every screen (a monitor
 * unplugged since) is dropped so the window opens centred. No electron import: callers pass the
 * displays' work areas in.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface WindowState {
  /** Omitted: let the OS centre the window. */
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized: boolean;
}

export const DEFAULT_WINDOW_SIZE = { width: 1280, height: 820 } as const;
export const MIN_WINDOW_SIZE = { width: 900, height: 600 } as const;
/** Anything larger than this is garbage, not a monitor. */
const MAX_DIMENSION = 16_384;
/** How much of the title bar must land on a screen for a saved position to count as visible. */
const VISIBLE_TITLE_BAR = { width: 120, height: 32 } as const;

const isCoordinate = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= MAX_DIMENSION * 4;
const isSize = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= MAX_DIMENSION;

/** Accepts only a well-formed state object; returns null for anything else. */
export function parseWindowState(raw: unknown): WindowState | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const r = raw as Record<string, unknown>;
  if (!isSize(r.width) || !isSize(r.height)) return null;
  const state: WindowState = { width: Math.round(r.width), height: Math.round(r.height), maximized: r.maximized === true };
  if (isCoordinate(r.x) && isCoordinate(r.y)) {
    state.x = Math.round(r.x);
    state.y = Math.round(r.y);
  }
  return state;
}

function overlap(a: Rect, b: Rect): { width: number; height: number } {
  return {
    width: Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x),
    height: Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y),
  };
}

/** Fits a saved state (or none) to the current screens. */
export function fitWindowState(saved: WindowState | null, workAreas: readonly Rect[]): WindowState {
  const areas = workAreas.filter((a) => isSize(a.width) && isSize(a.height));
  const maxWidth = areas.length ? Math.max(...areas.map((a) => a.width)) : DEFAULT_WINDOW_SIZE.width;
  const maxHeight = areas.length ? Math.max(...areas.map((a) => a.height)) : DEFAULT_WINDOW_SIZE.height;
  const clamp = (v: number, min: number, max: number): number => Math.max(Math.min(v, max), Math.min(min, max));
  const base = saved ?? { ...DEFAULT_WINDOW_SIZE, maximized: false };
  const state: WindowState = {
    width: clamp(base.width, MIN_WINDOW_SIZE.width, maxWidth),
    height: clamp(base.height, MIN_WINDOW_SIZE.height, maxHeight),
    maximized: base.maximized,
  };
  if (saved?.x !== undefined && saved.y !== undefined) {
    const titleBar: Rect = { x: saved.x, y: saved.y, width: state.width, height: VISIBLE_TITLE_BAR.height };
    const visible = areas.some((area) => {
      const o = overlap(titleBar, area);
      return o.width >= VISIBLE_TITLE_BAR.width && o.height >= VISIBLE_TITLE_BAR.height / 2;
    });
    if (visible) {
      state.x = saved.x;
      state.y = saved.y;
    }
  }
  return state;
}

/** The saved state fitted to the screens; defaults when the file is missing or unreadable. */
export function loadWindowState(file: string, workAreas: readonly Rect[]): WindowState {
  let saved: WindowState | null = null;
  try {
    saved = parseWindowState(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch {
    saved = null;
  }
  return fitWindowState(saved, workAreas);
}

/** Writes atomically (temp file, then rename), so a crash mid-write never leaves half a file. */
export function saveWindowState(file: string, state: WindowState): void {
  const clean = parseWindowState(state);
  if (!clean) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, `${JSON.stringify(clean, null, 2)}\n`, 'utf8');
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}
