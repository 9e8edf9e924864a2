// vitest resolves `electron` here (vitest.config.ts): the real package would try to download its
// binary. A test that needs Electron mocks it: vi.mock('electron', … tests/helpers/electron-stub …).
throw new Error("This test imported 'electron' without mocking it: use vi.mock('electron') with tests/helpers/electron-stub.");
