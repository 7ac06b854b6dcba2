/* test_decode.c - format detection and envelopes in the dispatcher:
 * EventBridge, lookup-events, CloudWatch Logs subscription payloads, Pub/Sub
 * push, containers, digests, non-CloudTrail EventBridge events. */
#include <stdlib.h>

#include "decode.h"
#include "nw_test.h"
#include "nw_time.h"
#include "source.h"

static nw_decoder *dec;
static nw_arena *ar;

static int decode(const char *doc, nw_event *ev, nw_str *cont, nw_err *err)
{
    nw_err_clear(err);
    return nw_decode(dec, doc, strlen(doc), strlen(doc), ar, ev, cont, err);
}

#define CT_EVENT                                                                                            \
    "{\"eventVersion\":\"1.08\",\"userIdentity\":{\"type\":\"IAMUser\",\"principalId\":\"AIDAX\","          \
    "\"arn\":\"arn:aws:iam::111122223333:user/bot\",\"accountId\":\"111122223333\","                       \
    "\"accessKeyId\":\"AKIAEXAMPLE\",\"userName\":\"bot\"},\"eventTime\":\"2025-03-04T10:15:09Z\","       \
    "\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"ListBuckets\",\"awsRegion\":\"us-east-1\","      \
    "\"sourceIPAddress\":\"192.0.2.1\",\"userAgent\":\"aws-cli/2\",\"eventID\":\"e-1\",\"readOnly\":true," \
    "\"eventType\":\"AwsApiCall\",\"recipientAccountId\":\"111122223333\"}"

static void check_ct(const nw_event *ev)
{
    CHECK_STR(ev->identity_key, "arn:aws:iam::111122223333:user/bot");
    CHECK_STR(ev->action, "s3:ListBuckets");
    CHECK_STR(ev->event_id, "e-1");
}

/* JSON-escape a document into a string literal body */
static char *escape(const char *s)
{
    char *o = malloc(strlen(s) * 2 + 1), *p = o;
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            *p++ = '\\';
        *p++ = *s;
    }
    *p = 0;
    return o;
}

static char *b64(const char *s)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(s);
    char *o = malloc(n * 4 / 3 + 8), *p = o;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)s[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)s[i + 2];
        *p++ = t[v >> 18 & 63];
        *p++ = t[v >> 12 & 63];
        *p++ = i + 1 < n ? t[v >> 6 & 63] : '=';
        *p++ = i + 2 < n ? t[v & 63] : '=';
    }
    *p = 0;
    return o;
}

int main(void)
{
    nw_err err;
    nw_err_clear(&err);
    dec = nw_decoder_new(NULL, &err);
    ar = nw_arena_new(0);
    nw_event ev;
    nw_str cont;
    char buf[8192];

    /* bare event */
    CHECK_INT(decode(CT_EVENT, &ev, &cont, &err), NW_DECODE_EVENT);
    check_ct(&ev);

    /* EventBridge */
    snprintf(buf, sizeof buf,
             "{\"version\":\"0\",\"id\":\"eb\",\"detail-type\":\"AWS API Call via CloudTrail\",\"source\":\"aws.s3\","
             "\"detail\":%s}",
             CT_EVENT);
    CHECK_INT(decode(buf, &ev, &cont, &err), NW_DECODE_EVENT);
    check_ct(&ev);
    CHECK_INT(decode("{\"version\":\"0\",\"detail-type\":\"EC2 Instance State-change Notification\",\"detail\":{}}",
                     &ev, &cont, &err),
              NW_DECODE_SKIP);

    /* lookup-events element: the event as a JSON string */
    char *esc = escape(CT_EVENT);
    snprintf(buf, sizeof buf, "{\"EventId\":\"e-1\",\"EventName\":\"ListBuckets\",\"CloudTrailEvent\":\"%s\"}", esc);
    CHECK_INT(decode(buf, &ev, &cont, &err), NW_DECODE_EVENT);
    check_ct(&ev);
    /* ... and the lookup-events output is a container */
    snprintf(buf, sizeof buf, "{\"Events\":[{\"EventId\":\"e-1\",\"CloudTrailEvent\":\"%s\"}]}", esc);
    CHECK_INT(decode(buf, &ev, &cont, &err), NW_DECODE_CONTAINER);
    CHECK(cont.n > 0 && cont.p[0] == '[');

    /* CloudWatch Logs subscription payload: logEvents[].message */
    snprintf(buf, sizeof buf,
             "{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"111122223333\",\"logGroup\":\"ct\",\"logEvents\":"
             "[{\"id\":\"1\",\"timestamp\":1,\"message\":\"%s\"}]}",
             esc);
    CHECK_INT(decode(buf, &ev, &cont, &err), NW_DECODE_CONTAINER);
    snprintf(buf, sizeof buf, "{\"id\":\"1\",\"timestamp\":1,\"message\":\"%s\"}", esc);
    CHECK_INT(decode(buf, &ev, &cont, &err), NW_DECODE_EVENT);
    check_ct(&ev);
    CHECK_INT(decode("{\"messageType\":\"CONTROL_MESSAGE\",\"logEvents\":[]}", &ev, &cont, &err), NW_DECODE_SKIP);
    free(esc);

    /* Pub/Sub push envelope with a base64 GCP LogEntry */
    const char *entry =
        "{\"protoPayload\":{\"@type\":\"type.googleapis.com/google.cloud.audit.AuditLog\",\"status\":{},"
        "\"authenticationInfo\":{\"principalEmail\":\"Job@P.iam.gserviceaccount.com\"},"
        "\"serviceName\":\"storage.googleapis.com\",\"methodName\":\"storage.objects.get\"},"
        "\"insertId\":\"i1\",\"timestamp\":\"2025-03-04T10:25:41.093817Z\","
        "\"logName\":\"projects/p/logs/cloudaudit.googleapis.com%2Fdata_access\",\"resource\":{\"type\":\"gcs_bucket\","
        "\"labels\":{\"project_id\":\"p\"}}}";
    char *b = b64(entry);
    snprintf(buf, sizeof buf,
             "{\"message\":{\"data\":\"%s\",\"messageId\":\"m1\",\"attributes\":{}},\"subscription\":\"s\"}", b);
    free(b);
    CHECK_INT(decode(buf, &ev, &cont, &err), NW_DECODE_EVENT);
    CHECK_STR(ev.identity_key, "job@p.iam.gserviceaccount.com");
    CHECK_INT(ev.provider, NW_PROV_GCP);

    /* caps on the JSON a decoder unwraps from a string, which no splitter
     * measured (the envelope around it is the splitter's to measure, so its
     * long escaped string passes here): CT_EVENT has 18 fields and its
     * longest string is the 34-byte user ARN; the entry has 14 fields */
    nw_decode_limits at = {0, 0, 34, 18}, under_s = {0, 0, 33, 0}, under_f = {0, 0, 0, 17};
    nw_decoder *d_at = nw_decoder_new(&at, &err), *d_s = nw_decoder_new(&under_s, &err),
               *d_f = nw_decoder_new(&under_f, &err);
    CHECK(d_at && d_s && d_f);
    esc = escape(CT_EVENT);
    snprintf(buf, sizeof buf, "{\"EventId\":\"e-1\",\"CloudTrailEvent\":\"%s\"}", esc);
    nw_err_clear(&err);
    CHECK_INT(nw_decode(d_at, buf, strlen(buf), strlen(buf), ar, &ev, &cont, &err), NW_DECODE_EVENT);
    check_ct(&ev);
    nw_err_clear(&err);
    CHECK_INT(nw_decode(d_s, buf, strlen(buf), strlen(buf), ar, &ev, &cont, &err), NW_DEC_E_LIMIT);
    CHECK_CSTR(err.msg, "the JSON in the CloudTrailEvent string: string of 34 bytes at byte 84 exceeds the 33-byte "
                        "cap (--max-string)");
    nw_err_clear(&err);
    CHECK_INT(nw_decode(d_f, buf, strlen(buf), strlen(buf), ar, &ev, &cont, &err), NW_DEC_E_LIMIT);
    CHECK_CSTR(err.msg, "the JSON in the CloudTrailEvent string: more than 17 fields (object members and array "
                        "elements): field 18 at byte 422 (--max-fields)");
    snprintf(buf, sizeof buf, "{\"id\":\"1\",\"timestamp\":1,\"message\":\"%s\"}", esc);
    nw_err_clear(&err);
    CHECK_INT(nw_decode(d_at, buf, strlen(buf), strlen(buf), ar, &ev, &cont, &err), NW_DECODE_EVENT);
    nw_err_clear(&err);
    CHECK_INT(nw_decode(d_f, buf, strlen(buf), strlen(buf), ar, &ev, &cont, &err), NW_DEC_E_LIMIT);
    CHECK(strncmp(err.msg, "the JSON in the CloudWatch Logs message: more than 17 fields", 60) == 0);
    free(esc);
    nw_decode_limits e14 = {0, 0, 0, 14}, e13 = {0, 0, 0, 13};
    nw_decoder *d14 = nw_decoder_new(&e14, &err), *d13 = nw_decoder_new(&e13, &err);
    CHECK(d14 && d13);
    b = b64(entry);
    snprintf(buf, sizeof buf, "{\"message\":{\"data\":\"%s\",\"messageId\":\"m1\"},\"subscription\":\"s\"}", b);
    free(b);
    nw_err_clear(&err);
    CHECK_INT(nw_decode(d14, buf, strlen(buf), strlen(buf), ar, &ev, &cont, &err), NW_DECODE_EVENT);
    nw_err_clear(&err);
    CHECK_INT(nw_decode(d13, buf, strlen(buf), strlen(buf), ar, &ev, &cont, &err), NW_DEC_E_LIMIT);
    CHECK(strncmp(err.msg, "the JSON in Pub/Sub message.data: more than 13 fields", 53) == 0);
    /* an unwrapped event with content after it is malformed, not an event */
    esc = escape(CT_EVENT "{}");
    snprintf(buf, sizeof buf, "{\"EventId\":\"e-1\",\"CloudTrailEvent\":\"%s\"}", esc);
    free(esc);
    CHECK_INT(decode(buf, &ev, &cont, &err), NW_DEC_E_JSON);
    nw_decoder_free(d_at);
    nw_decoder_free(d_s);
    nw_decoder_free(d_f);
    nw_decoder_free(d14);
    nw_decoder_free(d13);

    /* Azure records container, CloudTrail Records container */
    CHECK_INT(decode("{\"records\":[{\"a\":1}]}", &ev, &cont, &err), NW_DECODE_CONTAINER);
    CHECK_INT(decode("{\"Records\":[]}", &ev, &cont, &err), NW_DECODE_CONTAINER);

    /* digest file */
    CHECK_INT(decode("{\"awsAccountId\":\"1\",\"digestStartTime\":\"2025-03-04T10:00:00Z\",\"digestS3Object\":\"x\"}",
                     &ev, &cont, &err),
              NW_DECODE_SKIP);
    CHECK(strstr(err.msg, "digest") != NULL);

    /* S3 event notifications (where CloudTrail objects are announced) look
     * like CloudTrail records but name their source "aws:s3": skipped, no
     * identity made of their principalId */
    const char *s3n = "{\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\",\"awsRegion\":\"us-east-1\","
                      "\"eventTime\":\"2026-11-01T12:00:00.000Z\",\"eventName\":\"ObjectCreated:Put\","
                      "\"userIdentity\":{\"principalId\":\"AWS:AIDAEXAMPLE123:cloudtrail\"},"
                      "\"requestParameters\":{\"sourceIPAddress\":\"203.0.113.9\"},"
                      "\"s3\":{\"bucket\":{\"name\":\"ct-logs\"},\"object\":{\"key\":\"AWSLogs/x.json.gz\"}}}";
    CHECK_INT(decode(s3n, &ev, &cont, &err), NW_DECODE_SKIP);
    CHECK(strstr(err.msg, "event notification (eventSource aws:s3)") != NULL);
    /* ... also inside an SNS envelope, whose Message holds the Records */
    char *s3esc = escape(s3n);
    snprintf(buf, sizeof buf, "{\"Type\":\"Notification\",\"MessageId\":\"m\",\"Message\":\"{\\\"Records\\\":[%s]}\"}",
             s3esc);
    CHECK_INT(decode(buf, &ev, &cont, &err), NW_DECODE_CONTAINER);
    free(s3esc);
    /* CloudTrail's own SNS notice of a delivery names objects, holds no record */
    CHECK_INT(decode("{\"s3Bucket\":\"ct-logs\",\"s3ObjectKey\":[\"AWSLogs/1/CloudTrail/us-east-1/x.json.gz\"]}", &ev,
                     &cont, &err),
              NW_DECODE_SKIP);
    CHECK(strstr(err.msg, "delivery notification") != NULL);

    /* not ours / not an object / not JSON */
    CHECK_INT(decode("{\"hello\":\"world\"}", &ev, &cont, &err), NW_DEC_E_FORMAT);
    CHECK_INT(decode("[1,2]", &ev, &cont, &err), NW_DEC_E_FORMAT);
    CHECK_INT(decode("{\"eventVersion\": ", &ev, &cont, &err), NW_DEC_E_JSON);

    nw_decoder_free(dec);
    nw_arena_free(ar);
    return nw_test_finish();
}
