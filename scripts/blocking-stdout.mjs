// Loaded into the test runner and each test file's process (scripts/test.sh). A test file's
// process reports its results to the runner over its stdout, a non-blocking pipe on Linux; with
// --test-force-exit its process.exit() can cut off the last reports, and the runner then counts
// fewer tests and still exits 0 (nodejs/node#64833: here 6 of 1331 tests once vanished from a
// green run). A blocking stdout finishes every write before the exit, which is the fix proposed
// upstream (nodejs/node#64875). Files and terminals are left as they are.
const stdout = /** @type {{ _handle?: { setBlocking?: (b: boolean) => unknown } }} */ (/** @type {unknown} */ (process.stdout));
if (!process.stdout.isTTY && typeof stdout._handle?.setBlocking === 'function') stdout._handle.setBlocking(true);
