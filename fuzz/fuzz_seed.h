/*
 * The seeds of a libFuzzer target, written into every corpus directory
 * named on its command line that is still empty, so that a first run
 * starts from inputs that go deep. A seed is a string; where its first
 * byte is a selector (lead_byte), that byte is written even when NUL.
 */

#ifndef FUZZ_SEED_H
#define FUZZ_SEED_H

#include <stdio.h>
#include <string.h>
#include <dirent.h>


static void
fuzz_seed_dir(const char *dir, const char *const *seeds, size_t n,
    int lead_byte)
{
    DIR            *d;
    FILE           *f;
    size_t          i, len;
    char            path[4096];
    struct dirent  *de;

    d = opendir(dir);
    if (d == NULL) {
        return;
    }

    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.') {
            closedir(d);
            return;
        }
    }

    closedir(d);

    for (i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/seed-%zu", dir, i);

        f = fopen(path, "wb");
        if (f != NULL) {
            len = lead_byte ? 1 + strlen(seeds[i] + 1) : strlen(seeds[i]);
            fwrite(seeds[i], 1, len, f);
            fclose(f);
        }
    }
}


/* from LLVMFuzzerInitialize: the arguments that are not options */
static void
fuzz_seed_corpora(int argc, char **argv, const char *const *seeds,
    size_t n, int lead_byte)
{
    int  i;

    for (i = 1; i < argc; i++) {
        if (argv[i][0] != '-') {
            fuzz_seed_dir(argv[i], seeds, n, lead_byte);
        }
    }
}


#endif /* FUZZ_SEED_H */
