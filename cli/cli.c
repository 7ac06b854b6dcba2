#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/nw_time.h"
#include "../ingest/kafka.h"

void nw_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("nhiwatch: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int nw_cli_time(const char *s, int64_t *us) { return nw_time_parse(nw_str_c(s), us); }

int nw_cli_size(const char *s, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s)
        return -1;
    if (*end == 'K' || *end == 'k')
        v <<= 10, end++;
    else if (*end == 'M' || *end == 'm')
        v <<= 20, end++;
    else if (*end == 'G' || *end == 'g')
        v <<= 30, end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

bool nw_cli_tty(void) { return isatty(STDERR_FILENO) == 1; }

static int dbs_push(nw_cli_dbs *p, char *path, size_t max)
{
    if (p->n >= max) {
        nw_cli_error("at most %zu databases (shards) per command", max);
        free(path);
        return -1;
    }
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 16;
        char **np = realloc(p->path, nc * sizeof(*np));
        if (!np) {
            nw_cli_error("out of memory");
            free(path);
            return -1;
        }
        p->path = np;
        p->cap = nc;
    }
    p->path[p->n++] = path;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int nw_cli_dbs_add(nw_cli_dbs *p, const char *arg, size_t max, bool *is_dir)
{
    struct stat sb;
    if (is_dir)
        *is_dir = false;
    if (stat(arg, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        char *one = strdup(arg);
        if (!one) {
            nw_cli_error("out of memory");
            return -1;
        }
        return dbs_push(p, one, max);
    }
    if (is_dir)
        *is_dir = true;
    DIR *d = opendir(arg);
    if (!d) {
        nw_cli_error("cannot read the shard directory '%s': %s", arg, strerror(errno));
        return -1;
    }
    size_t first = p->n, alen = strlen(arg);
    int rc = 0;
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (de->d_name[0] == '.' || l < 4 || strcmp(de->d_name + l - 3, ".db") != 0)
            continue;
        char *path = malloc(alen + l + 2);
        if (!path) {
            nw_cli_error("out of memory");
            rc = -1;
            break;
        }
        snprintf(path, alen + l + 2, "%s/%s", arg, de->d_name);
        /* regular files only (a folder named x.db is not a shard) */
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            free(path);
            continue;
        }
        rc = dbs_push(p, path, max);
    }
    closedir(d);
    if (rc)
        return -1;
    if (p->n == first) {
        nw_cli_error("no *.db files in the shard directory '%s'", arg);
        return -1;
    }
    qsort(p->path + first, p->n - first, sizeof(*p->path), cmp_str);
    return 0;
}

void nw_cli_dbs_free(nw_cli_dbs *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->path[i]);
    free(p->path);
    p->path = NULL;
    p->n = p->cap = 0;
}

int nw_cli_kafka_opt(struct nw_kafka_conf *kc, int c, int brokers_opt, const char *arg, struct nw_err *err)
{
    if (c == brokers_opt)
        return nw_kafka_conf_brokers(kc, arg, err) ? -1 : 0;
    if (c == 'X')
        return nw_kafka_conf_add(kc, arg, err) ? -1 : 0;
    if (c == 'F')
        return nw_kafka_conf_file(kc, arg, err) ? -1 : 0;
    return 1;
}
