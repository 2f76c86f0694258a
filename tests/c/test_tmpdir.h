/*
 * test_tmpdir.h — a private scratch directory for C tests that write files:
 * created (owner only) under the system's temporary directory, removed when
 * the test passed and kept (and named) when it failed, so the files can be
 * inspected. Implemented per platform with the rest of test_platform.h.
 */
#ifndef TLD_TEST_TMPDIR_H
#define TLD_TEST_TMPDIR_H

#include "test_platform.h"

#endif
