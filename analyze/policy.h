/* policy.h - the ownership policy file (JSON): who owns which identities,
 * when they expire, how often their credentials must rotate, whether access
 * is expected to be just-in-time.
 *
 *   {"version": 1,
 *    "description": "optional, ignored",
 *    "identities": [
 *      {"match": "arn:aws:iam::111122223333:role/ci-*", "owner": "platform@example.com",
 *       "expires": "2027-01-01", "rotation_days": 90, "jit": false, "tags": {"env": "prod"},
 *       "description": "optional, ignored"},
 *      ...]}
 *
 * `match` is an identity key or a glob ('*' any run, '?' one character,
 * everything else literal). Matching is case-sensitive for AWS ARNs
 * ("arn:..." keys, as IAM names are) and case-insensitive for every other
 * key (Azure and GCP keys are lower-case, emails are case-insensitive).
 * The first entry that matches wins. The matcher is iterative and linear in
 * the key per pattern character: no pattern can make it backtrack
 * exponentially.
 *
 * A malformed file is refused as a whole: JSON syntax errors carry the line
 * (err->line), column and byte offset (err->offset); semantic errors name
 * the entry index and the field ("identities[3].rotation_days: ..."). Unknown
 * fields are errors too (a misspelt "rotaton_days" must not silently mean
 * "no rotation policy"). Duplicate keys in an object are errors.
 */
#ifndef NW_POLICY_H
#define NW_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/nw_err.h"

typedef struct nw_policy nw_policy;

typedef struct nw_policy_entry {
    const char *match;
    const char *owner;     /* NULL when not stated */
    int64_t expires;       /* microseconds since the epoch; 0 = none */
    int rotation_days;     /* 0 = none */
    int jit;               /* 1 yes, 0 no, -1 not stated */
    const char *tags_json; /* the tags object as compact JSON text (keys sorted), or NULL */
    int index;             /* position in the file (0-based, as in identities[index]), for evidence */
} nw_policy_entry;

enum nw_policy_error { NW_POLICY_E_OPEN = -1, NW_POLICY_E_PARSE = -2, NW_POLICY_E_NOMEM = -3 };

/* Load and check the whole file. On success *out owns everything the
 * entries point to (freed by nw_policy_free). On failure *out is NULL and
 * err (source = path) says what and where. Files over 64 MiB are refused
 * (NW_POLICY_E_OPEN). */
int nw_policy_load(const char *path, nw_policy **out, nw_err *err);
/* The same from a buffer (len bytes, need not be NUL-terminated); name is
 * used in messages. */
int nw_policy_parse(const char *buf, size_t len, const char *name, nw_policy **out, nw_err *err);
void nw_policy_free(nw_policy *p);
const char *nw_policy_strerror(int code);
/* The first entry matching key, or NULL. Pointers live as long as p. */
const nw_policy_entry *nw_policy_match(const nw_policy *p, const char *key);
size_t nw_policy_count(const nw_policy *p);
/* Entry i (0 <= i < count), for listing the policy in a report. */
const nw_policy_entry *nw_policy_entry_at(const nw_policy *p, size_t i);

#endif
