import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';

export type ThemePreference = 'light' | 'dark' | 'system';
export type ResolvedTheme = 'light' | 'dark';

/** localStorage key: the choice is per machine and survives restarts. */
export const THEME_STORAGE_KEY = 'quantlab.theme';
const PREFERENCES: readonly ThemePreference[] = ['light', 'dark', 'system'];

function parsePreference(value: string | null): ThemePreference {
  return PREFERENCES.includes(value as ThemePreference) ? (value as ThemePreference) : 'system';
}

function readStored(): ThemePreference {
  try {
    return parsePreference(localStorage.getItem(THEME_STORAGE_KEY));
  } catch {
    return 'system';
  }
}

/**
 * Light, dark or the system's choice. The resolved theme is applied as `data-theme` on <html>
 * (the CSS custom properties in styles/theme.css key off it) the moment it changes, so anything
 * reading computed styles afterwards (ECharts) sees the new colours.
 */
export const useThemeStore = defineStore('theme', () => {
  const preference = ref<ThemePreference>(readStored());

  const media = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null;
  const systemDark = ref(media?.matches ?? false);
  media?.addEventListener('change', (e) => {
    systemDark.value = e.matches;
  });

  const resolved = computed<ResolvedTheme>(() => (preference.value === 'system' ? (systemDark.value ? 'dark' : 'light') : preference.value));

  watch(
    [preference, resolved],
    ([pref, theme]) => {
      const root = document.documentElement;
      root.dataset.theme = theme;
      root.dataset.themePreference = pref;
      root.style.colorScheme = theme;
    },
    { immediate: true, flush: 'sync' },
  );

  watch(preference, (pref) => {
    try {
      localStorage.setItem(THEME_STORAGE_KEY, pref);
    } catch {
      // Storage disabled: the choice lasts for this session only.
    }
  });

  // Another window of the same workspace changed it: follow.
  window.addEventListener('storage', (e) => {
    if (e.key === THEME_STORAGE_KEY) preference.value = parsePreference(e.newValue);
  });

  function setPreference(value: ThemePreference): void {
    preference.value = value;
  }

  return { preference, resolved, setPreference };
});
