/* nw_redact.h - mask credentials in free text before it is stored, sent or
 * printed.
 *
 * Audit records carry text that callers choose (user agents, resource and
 * object names, error messages) and bodies that hold secrets (AWS
 * responseElements.credentials, Azure properties.requestbody, GCP request
 * payloads). nhiwatch keeps only a few text fields of an event, but those
 * few must not turn the inventory database, the reports, the Kafka topics or
 * the logs into a store of credentials. The decoders pass every free-text
 * field of an event through nw_redact, and the dispatcher passes the
 * messages about bad records through nw_redact_msg.
 *
 * What is masked (the value is replaced by "[REDACTED]", the rest kept):
 *   - the token after "Bearer " (any case);
 *   - JSON Web Tokens ("eyJ...", with a dot, 16 characters or more);
 *   - PEM private key blocks, "-----BEGIN ... PRIVATE KEY-----" to the
 *     matching END line (or to the end of the text when it was cut);
 *   - the value after '=' or ':' of a key that names a secret: a key
 *     containing password, passwd, secret, token, apikey, privatekey or
 *     signature, or one of pwd, pass, sig, authorization, cookie (case and
 *     '-' / '_' ignored: client_secret, secretAccessKey, x-amz-security-token,
 *     sessionToken, SAS "sig=" all match). A quoted value ends at its quote;
 *     "Authorization:" values run to the end of the line;
 *   - a 40-character AWS-secret-key-shaped string ([A-Za-z0-9/+]{40}) that
 *     follows the word "secret" without '=' or ':'.
 * False positives cost a masked word, never an event.
 *
 * Cost: the text is looked at 16 bytes at a time for the few bytes where a
 * rule can apply (separators, blanks and quotes after a word, 'J', '-');
 * about 10 instructions per byte of a typical user agent or ARN, no copy
 * when there is nothing to mask (docs/hardening.md has the measurement);
 * an arena copy only when something is masked.
 */
#ifndef NW_REDACT_H
#define NW_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#include "nw_arena.h"
#include "nw_str.h"

#define NW_REDACTED "[REDACTED]"

/* Does s hold anything nw_redact would mask? */
bool nw_redact_needed(nw_str s);

/* s itself when there is nothing to mask; else a masked copy in arena.
 * On allocation failure returns NW_REDACTED's literal (never the secret). */
nw_str nw_redact(nw_arena *a, nw_str s);

/* Mask a NUL-terminated message in place (buf holds cap bytes). The
 * masked text is cut to fit cap. Returns true when something was masked. */
bool nw_redact_msg(char *buf, size_t cap);

#endif
