#ifndef ZOOREG_CFUZZDRIVER_H
#define ZOOREG_CFUZZDRIVER_H
#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer (its LLVMFuzzerRunDriver) on `callback`. SwiftPM renames an executable's entry point to
/// `<Module>_main` on Linux, so libFuzzer's own `main` is never used: each target's `<Module>_main` calls this.
int zooreg_fuzz_run(int argc, char **argv, int (*callback)(const uint8_t *data, size_t size));

#endif
