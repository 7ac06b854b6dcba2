/* fuzz_common.c - the temporary folder of fuzz_common.h. */
#include "fuzz_common.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp_path[256];

static void rm_tree(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char p[512];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            struct stat sb;
            if (depth < 2 && lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
                rm_tree(p, depth + 1);
            else
                unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static void cleanup(void)
{
    if (tmp_path[0])
        rm_tree(tmp_path, 0);
}

const char *fuzz_tmpdir(void)
{
    if (tmp_path[0])
        return tmp_path;
    /* /dev/shm keeps the per-input file writes off the disk */
    const char *base = getenv("NW_FUZZ_TMPDIR");
    if (!base || !*base)
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    snprintf(tmp_path, sizeof tmp_path, "%s/nw_fuzz_XXXXXX", base);
    if (!mkdtemp(tmp_path)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(cleanup);
    return tmp_path;
}
