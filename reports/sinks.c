/* sinks.c - alert sinks: file, stdout, syslog over UDP and TCP; Kafka in
 * sink_kafka.c. See sinks.h. */
#include "sinks.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../core/nw_time.h"
#include "sink_kafka.h"

enum { K_FILE, K_STDOUT, K_UDP, K_TCP, K_KAFKA };

struct nw_sink {
    int kind;
    char *uri;
    FILE *f;
    int fd;
    struct addrinfo *ai; /* resolved address (syslog) */
    int facility;
    char host[256];
    long pid;
    const char *msgid;
    nw_ksink *k;
    uint64_t sent, failed;
    char first_error[NW_ERR_MSG_MAX];
    char *buf; /* syslog line */
    size_t cap;
};

static int fail(nw_sink *s, nw_err *err, const char *fmt, const char *detail)
{
    s->failed++;
    char m[NW_ERR_MSG_MAX];
    snprintf(m, sizeof m, fmt, s->uri, detail);
    if (!s->first_error[0])
        snprintf(s->first_error, sizeof s->first_error, "%s", m);
    return nw_err_set(err, NW_SINK_E_SEND, "%s", m);
}

/* "HOST:PORT" or "[V6]:PORT", an optional "?facility=N" */
static int parse_hostport(const char *rest, char *host, size_t hcap, char *port, size_t pcap, int *facility)
{
    const char *q = strchr(rest, '?');
    size_t len = q ? (size_t)(q - rest) : strlen(rest);
    if (q) {
        if (strncmp(q, "?facility=", 10) != 0)
            return -1;
        char *end;
        long f = strtol(q + 10, &end, 10);
        if (*end || end == q + 10 || f < 0 || f > 23)
            return -1;
        *facility = (int)f;
    }
    const char *hs = rest, *he, *ps = NULL;
    if (len && rest[0] == '[') {
        he = memchr(rest, ']', len);
        if (!he)
            return -1;
        hs = rest + 1;
        if ((size_t)(he + 1 - rest) < len) {
            if (he[1] != ':')
                return -1;
            ps = he + 2;
        }
    } else {
        const char *c = memchr(rest, ':', len);
        he = c ? c : rest + len;
        ps = c ? c + 1 : NULL;
    }
    size_t hl = (size_t)(he - hs);
    if (!hl || hl >= hcap)
        return -1;
    memcpy(host, hs, hl);
    host[hl] = '\0';
    if (ps) {
        size_t pl = (size_t)(rest + len - ps);
        if (!pl || pl >= pcap)
            return -1;
        for (size_t i = 0; i < pl; i++)
            if (ps[i] < '0' || ps[i] > '9')
                return -1;
        memcpy(port, ps, pl);
        port[pl] = '\0';
    } else {
        snprintf(port, pcap, "514");
    }
    return 0;
}

static int tcp_connect(nw_sink *s, nw_err *err)
{
    if (s->fd >= 0)
        return 0;
    const char *why = "no address";
    for (struct addrinfo *a = s->ai; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) {
            why = strerror(errno);
            continue;
        }
        int rc = connect(fd, a->ai_addr, a->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            struct pollfd p = {fd, POLLOUT, 0};
            int pr = poll(&p, 1, 5000);
            if (pr == 1) {
                int e = 0;
                socklen_t el = sizeof e;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el);
                rc = e ? -1 : 0;
                errno = e;
            } else {
                errno = pr == 0 ? ETIMEDOUT : errno;
                rc = -1;
            }
        }
        if (rc != 0) {
            why = strerror(errno ? errno : ETIMEDOUT);
            close(fd);
            continue;
        }
        /* blocking from here on, with a send timeout */
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        struct timeval tv = {5, 0};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        s->fd = fd;
        return 0;
    }
    return fail(s, err, "alerts to '%s': cannot connect: %s", why);
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int nw_sink_open(const char *uri, const nw_sink_opts *o, nw_sink **out, nw_err *err)
{
    *out = NULL;
    nw_sink *s = calloc(1, sizeof(*s));
    if (!s)
        return nw_err_set(err, NW_SINK_E_NOMEM, "out of memory");
    s->fd = -1;
    s->facility = 20; /* local4 */
    s->pid = (long)getpid();
    s->msgid = o && o->msgid ? o->msgid : "-";
    s->uri = strdup(uri);
    if (!s->uri) {
        free(s);
        return nw_err_set(err, NW_SINK_E_NOMEM, "out of memory");
    }
    int rc = 0;
    if (strcmp(uri, "-") == 0) {
        s->kind = K_STDOUT;
        s->f = stdout;
    } else if (strncmp(uri, "syslog+udp://", 13) == 0 || strncmp(uri, "syslog+tcp://", 13) == 0) {
        bool tcp = uri[7] == 't';
        s->kind = tcp ? K_TCP : K_UDP;
        char host[256], port[16];
        if (parse_hostport(uri + 13, host, sizeof host, port, sizeof port, &s->facility)) {
            rc = nw_err_set(err, NW_SINK_E_URI,
                            "--alerts '%s': expected syslog+%s://HOST:PORT (IPv6 as [ADDR]:PORT, optional ?facility=N)",
                            uri, tcp ? "tcp" : "udp");
            goto out_fail;
        }
        struct addrinfo hints;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = tcp ? SOCK_STREAM : SOCK_DGRAM;
        int g = getaddrinfo(host, port, &hints, &s->ai);
        if (g) {
            rc = nw_err_set(err, NW_SINK_E_OPEN, "--alerts '%s': cannot resolve '%s': %s", uri, host, gai_strerror(g));
            goto out_fail;
        }
        if (!tcp) {
            s->fd = socket(s->ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (s->fd < 0) {
                rc = nw_err_set(err, NW_SINK_E_OPEN, "--alerts '%s': %s", uri, strerror(errno));
                goto out_fail;
            }
        }
        if (gethostname(s->host, sizeof s->host) != 0 || !s->host[0])
            snprintf(s->host, sizeof s->host, "-");
        s->host[sizeof s->host - 1] = '\0';
        for (char *p = s->host; *p; p++) /* PRINTUSASCII, no space */
            if (*p <= 32 || *p >= 127)
                *p = '_';
        /* TCP connects lazily, on the first alert: an idle run needs no collector */
    } else if (strncmp(uri, "kafka://", 8) == 0) {
        s->kind = K_KAFKA;
        if (!uri[8] || strchr(uri + 8, '/')) {
            rc = nw_err_set(err, NW_SINK_E_URI, "--alerts '%s': expected kafka://TOPIC", uri);
            goto out_fail;
        }
        if (!o || !o->kafka) {
            rc = nw_err_set(err, NW_SINK_E_NOKAFKA, "--alerts '%s' needs --brokers", uri);
            goto out_fail;
        }
        if ((rc = nw_ksink_open(uri + 8, o->kafka, &s->k, err)))
            goto out_fail;
    } else if (strstr(uri, "://")) {
        rc = nw_err_set(err, NW_SINK_E_URI,
                        "--alerts '%s': unknown sink (a file path, '-', syslog+udp://HOST:PORT, syslog+tcp://HOST:PORT "
                        "or kafka://TOPIC)",
                        uri);
        goto out_fail;
    } else {
        s->kind = K_FILE;
        int fd = open(uri, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0 || !(s->f = fdopen(fd, "a"))) {
            rc = nw_err_set(err, NW_SINK_E_OPEN, "cannot open --alerts '%s': %s", uri, strerror(errno));
            if (fd >= 0)
                close(fd);
            goto out_fail;
        }
    }
    *out = s;
    return 0;
out_fail:
    nw_sink_close(s, NULL);
    return rc;
}

static size_t sd_value(char *out, size_t cap, const char *v)
{
    size_t n = 0;
    for (; v && *v && n + 2 < cap; v++) {
        if (*v == '"' || *v == '\\' || *v == ']')
            out[n++] = '\\';
        out[n++] = *v;
    }
    out[n] = '\0';
    return n;
}

size_t nw_syslog_format(char *buf, size_t cap, int facility, int severity, int64_t now_us, const char *host,
                        long pid, const char *msgid, const nw_sink_meta *m, const char *msg, size_t len)
{
    char ts[96];
    time_t t = (time_t)(now_us / NW_US_PER_SEC);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)((now_us % NW_US_PER_SEC) / 1000));
    char id[160] = "", st[64] = "";
    sd_value(id, sizeof id, m && m->id ? m->id : "-");
    sd_value(st, sizeof st, m && m->state ? m->state : "-");
    int sev = severity < 0 || severity > 7 ? 6 : severity;
    int h = snprintf(buf, cap, "<%d>1 %s %s nhiwatch %ld %s [nhiwatch@32473 id=\"%s\" state=\"%s\"] ",
                     facility * 8 + sev, ts, host && *host ? host : "-", pid, msgid && *msgid ? msgid : "-", id, st);
    if (h < 0 || (size_t)h + len + 1 > cap)
        return 0;
    memcpy(buf + h, msg, len);
    buf[h + len] = '\0';
    return (size_t)h + len;
}

int nw_sink_send(nw_sink *s, const char *msg, size_t len, const nw_sink_meta *m, nw_err *err)
{
    if (s->kind == K_FILE || s->kind == K_STDOUT) {
        if (fwrite(msg, 1, len, s->f) != len || fputc('\n', s->f) == EOF || fflush(s->f) != 0)
            return fail(s, err, "alerts to '%s': %s", strerror(errno));
        s->sent++;
        return 0;
    }
    if (s->kind == K_KAFKA) {
        int rc = nw_ksink_send(s->k, m && m->id ? m->id : NULL, msg, len, err);
        if (rc) {
            s->failed++;
            if (!s->first_error[0])
                snprintf(s->first_error, sizeof s->first_error, "%s", err ? err->msg : "produce failed");
            return rc;
        }
        s->sent++;
        return 0;
    }
    /* syslog */
    size_t need = len + 512;
    if (need > s->cap) {
        char *nb = realloc(s->buf, need);
        if (!nb)
            return fail(s, err, "alerts to '%s': %s", "out of memory");
        s->buf = nb;
        s->cap = need;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_us = (int64_t)now.tv_sec * NW_US_PER_SEC + now.tv_nsec / 1000;
    size_t n = nw_syslog_format(s->buf, s->cap, s->facility, m ? m->severity : 6, now_us, s->host, s->pid, s->msgid, m,
                                msg, len);
    if (!n)
        return fail(s, err, "alerts to '%s': %s", "message does not fit");
    if (s->kind == K_UDP) {
        if (n > NW_SINK_UDP_MAX) {
            char d[96];
            snprintf(d, sizeof d, "alert of %zu bytes is over the %d-byte datagram limit (not sent)", n,
                     NW_SINK_UDP_MAX);
            return fail(s, err, "alerts to '%s': %s", d);
        }
        if (sendto(s->fd, s->buf, n, 0, s->ai->ai_addr, s->ai->ai_addrlen) < 0)
            return fail(s, err, "alerts to '%s': %s", strerror(errno));
        s->sent++;
        return 0;
    }
    /* TCP, octet counting: "LEN SP MSG" */
    char pre[24];
    int pl = snprintf(pre, sizeof pre, "%zu ", n);
    int e = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        int rc = tcp_connect(s, err); /* counts its own failure */
        if (rc)
            return rc;
        if (send_all(s->fd, pre, (size_t)pl) == 0 && send_all(s->fd, s->buf, n) == 0) {
            s->sent++;
            return 0;
        }
        e = errno;
        close(s->fd); /* the collector went away: reconnect once */
        s->fd = -1;
    }
    return fail(s, err, "alerts to '%s': %s", strerror(e ? e : EPIPE));
}

int nw_sink_close(nw_sink *s, nw_err *err)
{
    if (!s)
        return 0;
    int rc = 0;
    if (s->kind == K_KAFKA && s->k) {
        nw_err ke;
        nw_err_clear(&ke);
        if (nw_ksink_close(s->k, &ke)) {
            s->failed++;
            if (!s->first_error[0])
                snprintf(s->first_error, sizeof s->first_error, "%s", ke.msg);
        }
        s->k = NULL;
    }
    if (s->f && s->kind == K_FILE)
        fclose(s->f);
    else if (s->f)
        fflush(s->f);
    if (s->fd >= 0)
        close(s->fd);
    if (s->ai)
        freeaddrinfo(s->ai);
    if (s->failed)
        rc = nw_err_set(err, NW_SINK_E_SEND, "alerts to '%s': %llu of %llu not delivered (first: %s)", s->uri,
                        (unsigned long long)s->failed, (unsigned long long)(s->failed + s->sent), s->first_error);
    free(s->buf);
    free(s->uri);
    free(s);
    return rc;
}

const char *nw_sink_uri(const nw_sink *s) { return s->uri; }
uint64_t nw_sink_sent(const nw_sink *s) { return s->sent; }
