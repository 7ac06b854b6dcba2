/* sinks.h - where alerts go: `--alerts SINK`.
 *
 *   PATH                      append one alert per line to a file (created 0600)
 *   -                         standard output, one per line
 *   syslog+udp://HOST:PORT    RFC 5424 message per UDP datagram (RFC 5426)
 *   syslog+tcp://HOST:PORT    RFC 5424 over TCP with octet counting (RFC 6587:
 *                             "LEN SP MSG"), one connection kept open
 *   kafka://TOPIC             one message per alert, key = finding id, via the
 *                             brokers and -X properties given to the command
 *
 * Syslog framing: <PRI>1 TIMESTAMP HOSTNAME nhiwatch PROCID MSGID SD MSG,
 * facility local4 (20) unless ?facility=N is added to the URI (0-23);
 * severity from the alert (critical 2, high 3, medium 4, low 5, info 6,
 * resolved 5); MSGID the alert format (OCSF, ECS, CEF, JSON); SD
 * [nhiwatch@32473 id="..." state="..."] (32473: the documentation
 * enterprise number of RFC 5612). HOST may be a name, an IPv4 address or
 * [IPv6]; PORT defaults to 514.
 *
 * Bounds: a UDP datagram larger than NW_SINK_UDP_MAX is not sent (counted
 * as an error: never truncated); TCP connects and sends time out after 5 s
 * and reconnect once per message. Delivery failures are counted per sink
 * and the first one is kept for the message at close.
 */
#ifndef NW_SINKS_H
#define NW_SINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/nw_err.h"

#define NW_SINK_UDP_MAX 65000

enum nw_sink_error {
    NW_SINK_E_URI = -1,     /* unknown scheme or malformed address */
    NW_SINK_E_OPEN = -2,    /* file cannot be opened, host unknown, broker handle not created */
    NW_SINK_E_SEND = -3,    /* a message could not be delivered */
    NW_SINK_E_NOKAFKA = -4, /* kafka:// without --brokers */
    NW_SINK_E_NOMEM = -5,
};

struct nw_kafka_conf;

typedef struct nw_sink_opts {
    const struct nw_kafka_conf *kafka; /* brokers and -X properties; NULL = kafka:// refused */
    const char *msgid;                 /* syslog MSGID (the format name) */
} nw_sink_opts;

/* What a sink may use besides the text. */
typedef struct nw_sink_meta {
    const char *id;    /* finding / control id: Kafka key, syslog SD */
    const char *state; /* new / escalated / resolved */
    int severity;      /* syslog severity 0-7 */
} nw_sink_meta;

typedef struct nw_sink nw_sink;

int nw_sink_open(const char *uri, const nw_sink_opts *o, nw_sink **out, nw_err *err);
/* Send one alert (text without newline). Returns 0 or NW_SINK_E_SEND. */
int nw_sink_send(nw_sink *s, const char *msg, size_t len, const nw_sink_meta *m, nw_err *err);
/* Flush (Kafka: wait for the acknowledgements, at most 15 s) and close.
 * Returns 0, or NW_SINK_E_SEND when something was not delivered (err says
 * how many and the first reason). NULL is a no-op. */
int nw_sink_close(nw_sink *s, nw_err *err);
const char *nw_sink_uri(const nw_sink *s);
uint64_t nw_sink_sent(const nw_sink *s);

/* The RFC 5424 line (without framing) into buf; returns its length, or 0
 * when it does not fit. For tests. */
size_t nw_syslog_format(char *buf, size_t cap, int facility, int severity, int64_t now_us, const char *host,
                        long pid, const char *msgid, const nw_sink_meta *m, const char *msg, size_t len);

#endif
