/* sink_kafka.h - the kafka://TOPIC alert sink (internal to sinks.c). */
#ifndef NW_SINK_KAFKA_H
#define NW_SINK_KAFKA_H

#include <stddef.h>

#include "../core/nw_err.h"

struct nw_kafka_conf;
typedef struct nw_ksink nw_ksink;

/* A producer (acks=all, idempotent) for topic; waits at most 10 s for a
 * broker to answer. */
int nw_ksink_open(const char *topic, const struct nw_kafka_conf *kc, nw_ksink **out, nw_err *err);
/* Queue one message (key may be NULL). */
int nw_ksink_send(nw_ksink *k, const char *key, const char *msg, size_t len, nw_err *err);
/* Flush (at most 15 s), check the deliveries, free. */
int nw_ksink_close(nw_ksink *k, nw_err *err);

#endif
