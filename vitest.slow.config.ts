import { defineConfig } from "vitest/config"

/**
 * The slow calibration tests (`npm run test:slow`, 101 minutes on 2 busy cores): mull's strategy
 * tables on the simulated backend against the reference simulator's (test/simulated/calibration.slow.ts).
 * `npm test` and `.ci/run` leave them out.
 */
export default defineConfig({
  test: {
    include: ["test/**/*.slow.ts"],
    setupFiles: ["./test/setup.ts"],
    testTimeout: 6 * 3_600_000,
    hookTimeout: 60_000
  }
})
