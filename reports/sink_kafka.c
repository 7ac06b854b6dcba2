/* sink_kafka.c - alerts to a Kafka topic through ingest/kafka.h. */
#include "sink_kafka.h"

#include <stdlib.h>
#include <string.h>

#include "../ingest/kafka.h"
#include "sinks.h"

struct nw_ksink {
    nw_kafka *k;
    char *topic;
};

int nw_ksink_open(const char *topic, const nw_kafka_conf *kc, nw_ksink **out, nw_err *err)
{
    *out = NULL;
    static const nw_kafka_prop props[] = {
        {"acks", "all", NULL},
        {"enable.idempotence", "true", NULL},
        {"linger.ms", "20", NULL},
    };
    nw_ksink *s = calloc(1, sizeof(*s));
    if (!s || !(s->topic = strdup(topic))) {
        free(s);
        return nw_err_set(err, NW_SINK_E_NOMEM, "out of memory");
    }
    nw_err ke;
    nw_err_clear(&ke);
    s->k = nw_kafka_new(RD_KAFKA_PRODUCER, kc, props, sizeof props / sizeof props[0], NULL, &ke);
    if (!s->k) {
        free(s->topic);
        free(s);
        return nw_err_set(err, NW_SINK_E_OPEN, "alerts to kafka://%s: %s", topic, ke.msg);
    }
    if (nw_kafka_wait_brokers(s->k, 10, &ke)) {
        nw_kafka_free(s->k);
        free(s->topic);
        free(s);
        return nw_err_set(err, NW_SINK_E_OPEN, "alerts to kafka://%s: %s", topic, ke.msg);
    }
    *out = s;
    return 0;
}

int nw_ksink_send(nw_ksink *s, const char *key, const char *msg, size_t len, nw_err *err)
{
    nw_err ke;
    nw_err_clear(&ke);
    if (nw_kafka_produce(s->k, s->topic, RD_KAFKA_PARTITION_UA, key, key ? strlen(key) : 0, msg, len, NULL, NULL,
                         &ke))
        return nw_err_set(err, NW_SINK_E_SEND, "alerts to kafka://%s: %s", s->topic, ke.msg);
    nw_kafka_poll(s->k);
    return 0;
}

int nw_ksink_close(nw_ksink *s, nw_err *err)
{
    if (!s)
        return 0;
    nw_err ke;
    nw_err_clear(&ke);
    int rc = nw_kafka_flush(s->k, 15000, &ke);
    nw_kafka_dstats ds;
    nw_kafka_delivery(s->k, &ds);
    if (rc)
        rc = nw_err_set(err, NW_SINK_E_SEND, "alerts to kafka://%s: %s", s->topic, ke.msg);
    else if (ds.failed || ds.refused)
        rc = nw_err_set(err, NW_SINK_E_SEND, "alerts to kafka://%s: %llu not delivered (%s)", s->topic,
                        (unsigned long long)(ds.failed + ds.refused), ds.first_error);
    nw_kafka_free(s->k);
    free(s->topic);
    free(s);
    return rc;
}
