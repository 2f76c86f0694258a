/*
 * test_tmpdir.h — a private scratch directory for C tests that write files:
 * created with mkdtemp (0700) under /tmp, removed when the test passed and
 * kept (and named) when it failed, so the files can be inspected.
 */
#ifndef TLD_TEST_TMPDIR_H
#define TLD_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

static char tmpdir[256];

/* Creates /tmp/<prefix>.XXXXXX; returns 0, or -1 after printing why. */
static int tmpdir_create(const char *prefix)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/%s.XXXXXX", prefix);
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return -1;
    }
    return 0;
}

/* `name` inside the scratch directory, written to out. */
static const char *tmp_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", tmpdir, name);
    return out;
}

/* Removes the directory if the test passed (rc == 0); returns rc. */
static int tmpdir_finish(int rc)
{
    if (rc == 0) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpdir);
    } else {
        fprintf(stderr, "files kept in %s\n", tmpdir);
    }
    return rc;
}

#endif
