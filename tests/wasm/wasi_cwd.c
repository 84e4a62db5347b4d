/* wasi_cwd.c — linked into every program of the WebAssembly build (Makefile, CROSS=wasm32-wasi-).
 *
 * A WASI program has no working directory of its own: wasi-libc starts at "/" and resolves
 * relative paths in a folder the host preopened as ".". tests/wasm/run_wasi.mjs preopens the
 * file system as "/" instead (node's WASI follows a link only within the preopened folder it
 * lies in) and passes the host's working directory as $PWD; this moves there before main, so
 * relative and absolute paths mean what they mean natively. Without an absolute $PWD (other
 * hosts, e.g. `wasmtime --dir .`) nothing changes. */
#ifdef __wasi__
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void wasi_cwd_from_env(void)
{
    const char *pwd = getenv("PWD");
    /* a failure leaves the start folder, where relative paths fail with a clear message */
    if (pwd && pwd[0] == '/') (void)chdir(pwd);
}
#else
typedef int wasi_cwd_unused; /* ISO C: a translation unit is not empty */
#endif
