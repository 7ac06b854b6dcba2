/* onerec.h - is this buffer exactly one JSON object record?
 *
 * `ingest` splits every Kafka message like a file (source.h: JSON Lines,
 * arrays, {"Records":[...]} containers), and almost every message is one
 * plain event. nw_onerec_find answers, in one vectorised pass over the
 * bytes, whether the splitter would find exactly that: the buffer is one
 * JSON object, with only white space around it, that the splitter would
 * hand over whole as the buffer's only record, with no bad-record report
 * (no container to split, brackets that match, no raw newline in a string,
 * within every nw_split_limits cap). When it says yes, decoding *rec gives
 * the same events and the same errors as splitting the buffer would; when
 * it says no, the caller splits the buffer (nw_split_buffer), which is
 * always right. A "no" is never wrong, only slower, so the test is
 * conservative wherever being exact would cost a second pass: a string
 * that reads like a container key ("records", "logEvents", "Events", any
 * case) anywhere in the object, a backslash outside a string, a record
 * that could hold a string or a field count over the caps.
 *
 * The caps are the splitter's (source.h); when its checks change, this
 * test changes with them. tests/unit/test_onerec.c holds both to the same
 * answers on the suite inputs and on random bytes.
 */
#ifndef NW_ONEREC_H
#define NW_ONEREC_H

#include <stdbool.h>
#include <stddef.h>

#include "source.h"

/* buf[0..n): the whole buffer (a message). lim: the splitter's caps (NULL
 * or 0 fields: the defaults). name: the source name the splitter would be
 * given (borrowed; stored in rec->source). On true, *rec is the record as
 * nw_split_buffer would pass it to its callback: p points into buf, cap is
 * the bytes left in buf from p, line, index (1) and offset as the splitter
 * counts them. On false, *rec is untouched. */
bool nw_onerec_find(const char *buf, size_t n, const nw_split_limits *lim, const char *name, nw_rec *rec);

#endif
