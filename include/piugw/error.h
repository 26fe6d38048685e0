/*
 * piugw/error.h: the one table of error codes of the PIU gateway.
 *
 * Every function of libpiugw that can fail returns 0 or one of these negative
 * codes; piugw_strerror() names them. Codes that correspond to a wire error of
 * PROTOCOL.md section 7 say which (piugw_error_wire_code()), so the daemon and
 * the requester's local policy check answer with the same code.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef PIUGW_ERROR_H
#define PIUGW_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * X(name, value, wire code name or NONE, message)
 * The wire code names are those of ErrorCode in proto/body.proto.
 */
#define PIUGW_ERRORS(X)                                                              \
	X(PIUGW_OK, 0, NONE, "success")                                                  \
	X(PIUGW_EINTERNAL, -1, INTERNAL, "internal error")                               \
	X(PIUGW_ENOMEM, -2, INTERNAL, "out of memory")                                   \
	X(PIUGW_EINVAL, -3, INTERNAL, "invalid argument")                                \
	X(PIUGW_ESYSTEM, -4, INTERNAL, "system error (see errno)")                      \
	X(PIUGW_EMALFORMED, -10, MALFORMED, "malformed message")                        \
	X(PIUGW_EVERSION, -11, UNSUPPORTED_VERSION, "unsupported protocol version")     \
	X(PIUGW_ETOOLARGE, -12, TOO_LARGE, "message too large")                         \
	X(PIUGW_ENOTFORME, -13, NOT_FOR_ME, "message is addressed to another gateway")  \
	X(PIUGW_EUNKNOWNSENDER, -14, UNKNOWN_SENDER, "sender is not a known member")    \
	X(PIUGW_ESENDERMISMATCH, -15, UNKNOWN_SENDER,                                    \
	  "sender differs from the authenticated transport identity")                    \
	X(PIUGW_EDECRYPT, -16, BAD_SIGNATURE, "message could not be decrypted or authenticated") \
	X(PIUGW_EBADSIG, -17, BAD_SIGNATURE, "signature does not verify")                \
	X(PIUGW_ESTALE, -18, STALE, "message is outside the freshness window")          \
	X(PIUGW_EREPLAYED, -19, REPLAYED, "message was already received")               \
	X(PIUGW_EWEAKKEY, -20, BAD_SIGNATURE,                                            \
	  "peer key is a low-order point (all-zero shared secret)")                      \
	X(PIUGW_ENOAGREEMENT, -30, NO_AGREEMENT, "no agreement with this gateway")      \
	X(PIUGW_EAGREEMENTMISMATCH, -31, AGREEMENT_MISMATCH,                             \
	  "agreement is held under a different hash")                                    \
	X(PIUGW_ENOTINFORCE, -32, AGREEMENT_NOT_IN_FORCE, "agreement is not in force")  \
	X(PIUGW_EPURPOSE, -33, PURPOSE_NOT_ALLOWED, "purpose not allowed by the agreement") \
	X(PIUGW_EQUERYTYPE, -34, QUERY_TYPE_NOT_ALLOWED,                                 \
	  "query type not allowed by the agreement")                                     \
	X(PIUGW_EJUSTIFICATION, -35, JUSTIFICATION_REQUIRED, "a justification is required") \
	X(PIUGW_ERATELIMITED, -36, RATE_LIMITED, "rate limit of the agreement reached")  \
	X(PIUGW_EUNKNOWNQUERY, -37, UNKNOWN_QUERY, "unknown query or approval reference") \
	X(PIUGW_ETOOMANYLOOKOUTS, -38, TOO_MANY_LOOKOUTS,                                \
	  "the asker holds as many lookouts as the agreement allows")                    \
	X(PIUGW_EUNMASKING, -39, UNMASKING_NOT_ALLOWED,                                  \
	  "the agreement does not allow masked data to be disclosed again")              \
	X(PIUGW_EBADID, -50, NONE, "invalid gateway id (3 to 32 of A-Z 0-9 . _ -)")    \
	X(PIUGW_EKEYFILE, -51, NONE, "invalid key file")                                 \
	X(PIUGW_EKEYPERM, -52, NONE, "secret key file is readable by group or others")  \
	X(PIUGW_EEXIST, -53, NONE, "file already exists")                                \
	X(PIUGW_ENOENT, -54, NONE, "file not found")                                     \
	X(PIUGW_EFILETYPE, -55, NONE, "not a regular file")                              \
	X(PIUGW_EFILESIZE, -56, NONE, "file too large")                                  \
	X(PIUGW_EKEYMISMATCH, -57, NONE, "public and secret keys do not belong together")   \
	X(PIUGW_ECONFIG, -60, NONE, "invalid configuration")                             \
	X(PIUGW_EROLLBACK, -61, NONE,                                                    \
	  "directory serial is lower than one already accepted (rollback)")              \
	X(PIUGW_ELEGACYSIG, -62, NONE,                                                   \
	  "legacy (non-prehashed) minisign signature; sign with minisign 0.10 or later") \
	X(PIUGW_ESIGFILE, -63, NONE, "invalid signature or key file")                   \
	X(PIUGW_EKEYID, -64, NONE, "signed with a different key than the one trusted")  \
	X(PIUGW_EPASSWORD, -66, NONE, "wrong password for the secret key")                \
	X(PIUGW_EACCESS, -58, NONE, "permission denied")                                \
	X(PIUGW_EAUDIT, -70, INTERNAL,                                                   \
	  "the audit log cannot be written (disk full?); refusing unaudited work")       \
	X(PIUGW_EAUDITBUSY, -71, NONE, "the audit log is in use by another process")    \
	X(PIUGW_EAUDITBROKEN, -72, NONE, "the audit log is damaged or its chain is broken") \
	X(PIUGW_EAUDITBEHIND, -73, NONE,                                                 \
	  "the audit log is behind, or forks from, what this gateway recorded of it")   \
	X(PIUGW_EFILEPERM, -59, NONE, "a file of the gateway's state is open to group or others")

enum piugw_error {
#define PIUGW_ERROR_ENUM(name, value, wire, msg) name = value,
	PIUGW_ERRORS(PIUGW_ERROR_ENUM)
#undef PIUGW_ERROR_ENUM
};

/* The wire codes of PROTOCOL.md section 7, numbered as ErrorCode in body.proto. */
enum piugw_wire_error {
	PIUGW_WIRE_NONE = 0,
	PIUGW_WIRE_MALFORMED = 1,
	PIUGW_WIRE_UNSUPPORTED_VERSION = 2,
	PIUGW_WIRE_TOO_LARGE = 3,
	PIUGW_WIRE_NOT_FOR_ME = 4,
	PIUGW_WIRE_UNKNOWN_SENDER = 5,
	PIUGW_WIRE_BAD_SIGNATURE = 6,
	PIUGW_WIRE_STALE = 7,
	PIUGW_WIRE_REPLAYED = 8,
	PIUGW_WIRE_NO_AGREEMENT = 9,
	PIUGW_WIRE_AGREEMENT_MISMATCH = 10,
	PIUGW_WIRE_AGREEMENT_NOT_IN_FORCE = 11,
	PIUGW_WIRE_PURPOSE_NOT_ALLOWED = 12,
	PIUGW_WIRE_QUERY_TYPE_NOT_ALLOWED = 13,
	PIUGW_WIRE_JUSTIFICATION_REQUIRED = 14,
	PIUGW_WIRE_RATE_LIMITED = 15,
	PIUGW_WIRE_UNKNOWN_QUERY = 16,
	PIUGW_WIRE_INTERNAL = 17,
	PIUGW_WIRE_TOO_MANY_LOOKOUTS = 18,
	PIUGW_WIRE_UNMASKING_NOT_ALLOWED = 19,
	PIUGW_WIRE_LAST = PIUGW_WIRE_UNMASKING_NOT_ALLOWED,
};

/* A static, human-readable description of code; never NULL. */
const char *piugw_strerror(int code);

/* The symbolic name of code ("PIUGW_EBADSIG"); never NULL. */
const char *piugw_error_name(int code);

/* The wire error code for code, or PIUGW_WIRE_NONE if it has none. */
enum piugw_wire_error piugw_error_wire_code(int code);

/* The name of a wire error code as PROTOCOL.md spells it ("BAD_SIGNATURE"). */
const char *piugw_wire_error_name(enum piugw_wire_error wire);

#ifdef __cplusplus
}
#endif
#endif /* PIUGW_ERROR_H */
