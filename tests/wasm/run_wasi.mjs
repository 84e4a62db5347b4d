// run_wasi.mjs — runs a WASI command module (the wasm32-wasi build's CLI or a unit-test
// program) under node, as qemu-user runs the other cross targets' programs (RUNNER in the
// Makefile, tests/cross/run.sh).
//   node --experimental-wasi-unstable-preview1 tests/wasm/run_wasi.mjs PROGRAM.wasm [ARGS...]
// The program sees ARGS, the environment with PWD set to the current folder (the build's
// programs start there: tests/wasm/wasi_cwd.c) and the file system preopened as "/", so
// paths mean what they mean natively. All of "/", not only the repository, the node tests and
// the temporary folder, because node's WASI follows a link only within the preopened folder
// it lies in, and tests/cross/run.sh selects node tests by links from the build folder into
// .cache/node-tests; and "/" alone, because wasi-libc cannot have "/" and "." both preopened
// (one hides the other). Exits with the program's exit status; a trap (abort, out-of-bounds
// access) prints the error and exits with 134, as SIGABRT would.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';

const [program, ...args] = process.argv.slice(2);
if (!program) {
    process.stderr.write('usage: run_wasi.mjs PROGRAM.wasm [ARGS...]\n');
    process.exit(2);
}
const preopens = { '/': '/' };

const wasi = new WASI({ version: 'preview1', args: [program, ...args],
                        env: { ...process.env, PWD: process.cwd() },
                        preopens, returnOnExit: true });
let status;
try {
    const module = await WebAssembly.compile(await readFile(program));
    const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
    status = wasi.start(instance);
} catch (e) {
    process.stderr.write(`run_wasi: ${program}: ${e && e.stack ? e.stack : e}\n`);
    status = 134;
}
process.exitCode = status;
