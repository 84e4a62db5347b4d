/* replay.c — runs a fuzz target's entry point over files (the committed corpus and every
 * crash ever found), so `make test` checks them with any compiler, no libFuzzer needed.
 * usage: replay-<target> FILE...   prints "fuzz-<target>: N passed, 0 failed" (a crash fails) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int n = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) continue;
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *buf = malloc(len > 0 ? (size_t)len : 1);
        if (buf && fread(buf, 1, (size_t)len, f) == (size_t)len) {
            LLVMFuzzerTestOneInput(buf, (size_t)len);
            n++;
        }
        free(buf);
        fclose(f);
    }
    printf("fuzz replay: %d passed, 0 failed\n", n);
    return 0;
}
