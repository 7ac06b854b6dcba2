/* event.h - the normalized event: the contract between ingest and analyze.
 *
 * Every provider decoder (cloudtrail.c, azure.c, gcp.c) fills one of these
 * per audit record; the store, the detectors and the wire encoding
 * (wire.c, "nhiwatch.event/1") read nothing else. Adding a field here means
 * adding it to the wire encoding and to its test.
 *
 * Ownership: every nw_str points either into the input buffer the record
 * was decoded from or into the arena handed to the decoder. Both outlive the
 * event until the batch is applied; nothing here is freed on its own.
 */
#ifndef NW_EVENT_H
#define NW_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/nw_str.h"

enum nw_provider {
    NW_PROV_UNKNOWN = 0,
    NW_PROV_AWS = 1,
    NW_PROV_AZURE = 2,
    NW_PROV_GCP = 3,
};

enum nw_kind {
    NW_KIND_UNKNOWN = 0,
    NW_KIND_NON_HUMAN = 1,
    NW_KIND_HUMAN = 2,
};

enum nw_outcome {
    NW_OUT_SUCCESS = 0,
    NW_OUT_FAILURE = 1, /* any error that is not an authorization refusal */
    NW_OUT_DENIED = 2,  /* AccessDenied, PERMISSION_DENIED, AuthorizationFailed ... */
};

enum nw_cred_kind {
    NW_CRED_NONE = 0,
    NW_CRED_AWS_LONG_TERM = 1, /* AKIA access key */
    NW_CRED_AWS_TEMPORARY = 2, /* ASIA session key */
    NW_CRED_GCP_SA_KEY = 3,    /* user-managed service account key */
    NW_CRED_AZURE_SECRET = 4,  /* appidacr/azpacr 1: client secret */
    NW_CRED_AZURE_CERT = 5,    /* appidacr/azpacr 2: certificate, federated credential or MI */
    NW_CRED_OTHER = 6,
};

enum nw_access {
    NW_ACCESS_UNKNOWN = 0,
    NW_ACCESS_READ = 1,
    NW_ACCESS_WRITE = 2,
};

/* Azure logs an operation as several records (Start, Accept, Success).
 * Only the record that completes the operation counts as activity; the
 * others are recorded for de-duplication only. */
enum nw_phase {
    NW_PHASE_COMPLETE = 0, /* a whole operation: count it */
    NW_PHASE_PARTIAL = 1,  /* a non-terminal record of a multi-record operation */
};

/* Flags (bit set in nw_event.flags). */
#define NW_EV_PRIVILEGED 0x01u  /* IAM / privilege-changing / credential lifecycle action */
#define NW_EV_CONSOLE 0x02u     /* interactive console session or sign-in */
#define NW_EV_VIA_SERVICE 0x04u /* a cloud service acted on the principal's behalf */
#define NW_EV_SECRET_READ 0x08u /* reads a secret or mints credentials */
#define NW_EV_SERVICE_AGENT 0x10u /* provider-managed identity (GCP service agent, AWS service) */

typedef struct nw_event {
    uint8_t provider;  /* enum nw_provider */
    uint8_t kind;      /* enum nw_kind */
    uint8_t outcome;   /* enum nw_outcome */
    uint8_t cred_kind; /* enum nw_cred_kind */
    uint8_t access;    /* enum nw_access */
    uint8_t phase;     /* enum nw_phase */
    uint16_t flags;    /* NW_EV_* */
    int64_t time_us;   /* event time, microseconds since epoch, UTC */

    nw_str identity_key;  /* DESIGN.md identity key; never empty on success */
    nw_str identity_type; /* iam_user, iam_role, root, aws_service, federated_user,
                             web_identity, saml_user, identity_center_user, aws_account,
                             service_account, service_agent, user, workload_identity,
                             service_principal, managed_identity, k8s_service_account,
                             k8s_node, k8s_system (GKE principals), unknown */
    nw_str display_name;  /* user name, role name, UPN, SA email ... */
    nw_str account;       /* AWS account, GCP project, Azure subscription */
    nw_str tenant;        /* Azure tenant, AWS organization when known */
    nw_str session_name;  /* AWS role session name (attribute, not part of the key) */
    nw_str credential_id; /* AKIA.../ASIA..., GCP key id, Azure app id + acr */
    nw_str service;       /* s3, Microsoft.Storage, storage.googleapis.com */
    nw_str action;        /* s3:GetObject, Microsoft.Storage/storageAccounts/write,
                             storage.googleapis.com/storage.objects.get */
    nw_str permission;    /* permission actually checked where the log says (GCP
                             authorizationInfo, Azure authorization.action) */
    nw_str resource;      /* main resource the call touched, when stated */
    nw_str error_code;    /* provider error code; empty on success */
    nw_str source_ip;     /* caller IP or service DNS name */
    nw_str user_agent;
    nw_str region;        /* awsRegion, Azure location, GCP resourceLocation / zone */
    nw_str event_id;      /* provider's event id as logged */
    nw_str origin_key;    /* original principal of an impersonation / chain, if any */
    nw_str op_key;        /* Azure: operation correlation (one per operation) */
    nw_str issued_credential; /* a credential this call minted: the ASIA key of an AssumeRole,
                                 the AKIA key of CreateAccessKey, a GCP key id */
    nw_str target_key;    /* the identity this call acts on (the role assumed, the user given a
                             key, the role or service account created), as an identity key */

    uint8_t dedupe_id[16]; /* hash of the provider's de-duplication key */
} nw_event;

/* Copy every string of ev into arena, so that ev no longer points into the
 * buffer it was decoded from. Returns 0, or -1 when the arena is out of
 * memory. */
struct nw_arena;
int nw_event_persist(nw_event *ev, struct nw_arena *arena);

const char *nw_provider_name(int provider);
const char *nw_kind_name(int kind);
const char *nw_outcome_name(int outcome);
const char *nw_cred_kind_name(int cred_kind);
const char *nw_access_name(int access);
int nw_provider_from_name(nw_str s);
int nw_kind_from_name(nw_str s);
int nw_outcome_from_name(nw_str s);
int nw_cred_kind_from_name(nw_str s);
int nw_access_from_name(nw_str s);

#endif
