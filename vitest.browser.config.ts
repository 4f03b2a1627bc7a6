import { defineConfig } from "vitest/config"

/** The tests that need a real browser (Debian's chromium): `npm run test:browser`, run by `.ci/run`. */
export default defineConfig({
  test: {
    include: ["test/**/*.browser.ts"],
    setupFiles: ["./test/setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
