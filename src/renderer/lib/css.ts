/** The current value of a CSS custom property on <html> (after the theme store applied the theme). */
export function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}
