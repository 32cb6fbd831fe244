/* fuzz.h — what the fuzz targets share. Each target defines LLVMFuzzerTestOneInput; it is
 * linked either with libFuzzer (clang, -Dfuzz=true) or with replay_main.c, which runs the
 * committed corpus through it in the ordinary (ASan) test build. */
#ifndef AWM_FUZZ_H
#define AWM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A path naming an in-memory file holding exactly data[0..size) (a memfd seen through
 * /proc/self/fd), for the parts whose entry point is a file path: nothing is left on disk. */
const char *fuzz_memfile(const uint8_t *data, size_t size);

#endif
