// A module-resolution hook: 'electron' (and 'electron/main') is the stub-driven fake below,
// resolved through the next hook (tsx) so that it compiles the TypeScript.
const fake = new URL('./fake-electron.ts', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === 'electron' || specifier === 'electron/main') return next(fake, context);
  return next(specifier, context);
}
