// Paths of the repository the tests read, and the modules they run on.
// EDGEFLAG_WASM (a path) runs the suites on another module instead of
// wasm/dist/edgeflag.wasm; EDGEFLAG_WASM_TINY, EDGEFLAG_WASM_ES256 and the
// EFTEST ones likewise for the TinyGo build, the ES256 build and the test
// builds.
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";

export const root = fileURLToPath(new URL("../../../../", import.meta.url));
export const corpusDir = path.join(root, "bundle", "conformance", "testdata");
export const distDir = path.join(root, "wasm", "dist");

/** The EdDSA-only module (the default), as a path. */
export const modulePath = process.env.EDGEFLAG_WASM ? path.resolve(process.env.EDGEFLAG_WASM) : path.join(distDir, "edgeflag.wasm");
/** The TinyGo build (make wasm-tiny), as a path. */
export const tinyModulePath = process.env.EDGEFLAG_WASM_TINY
  ? path.resolve(process.env.EDGEFLAG_WASM_TINY) : path.join(distDir, "edgeflag.tiny.wasm");
/** The module that also verifies ES256, as a path. */
export const es256ModulePath = process.env.EDGEFLAG_WASM_ES256
  ? path.resolve(process.env.EDGEFLAG_WASM_ES256) : path.join(distDir, "edgeflag-es256.wasm");
/** The test build with ef_test_trap (make js-test builds it), as a path. */
export const trapModulePath = process.env.EDGEFLAG_WASM_EFTEST
  ? path.resolve(process.env.EDGEFLAG_WASM_EFTEST) : path.join(root, "wasm", "js", "test", ".build", "edgeflag-eftest.wasm");
/** The TinyGo test build with ef_test_trap (make js-test writes it), as a path. */
export const tinyTrapModulePath = process.env.EDGEFLAG_WASM_TINY_EFTEST
  ? path.resolve(process.env.EDGEFLAG_WASM_TINY_EFTEST) : path.join(root, "wasm", "js", "test", ".build", "edgeflag-eftest.tiny.wasm");

/** The native-versus-wasm differential fixture (make js-test writes it with wasm/internal/diffgen/cmd/difffixture). */
export const diffDir = process.env.EDGEFLAG_DIFF_DIR
  ? path.resolve(process.env.EDGEFLAG_DIFF_DIR) : path.join(root, "wasm", "js", "test", ".build", "diff");

export const fileURL = (p) => pathToFileURL(p).href;
