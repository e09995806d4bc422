/*
 * sf_auth.h - OAuth 2.0 against the login URL: the refresh-token flow (with
 * rotated refresh tokens kept in the engine's state store) and the
 * client-credentials flow.  The result is an access token and the org's
 * instance_url, both kept in the instance.
 */
#ifndef SF_AUTH_H
#define SF_AUTH_H

#include <stddef.h>

#include "sf_internal.h"

/* State key holding "<fingerprint>:<rotated refresh token>". */
#define SF_STATE_REFRESH_TOKEN "refresh_token"
/* Hex digits of a refresh token fingerprint. */
#define SF_FINGERPRINT_LEN 16

/*
 * Gets a new access token (replacing any previous one).  Returns SYNC_OK;
 * SYNC_E_AUTH when the credentials were rejected (no retry, the message says
 * what to re-authorize); SYNC_E_CONFIG; or a transport status.
 */
SF_HIDDEN int sf_auth_login(sf_instance *inst);

/*
 * Fingerprint of a configured refresh token: lets a later run tell whether
 * the stored rotated token descends from the token configured now, without
 * storing the configured token itself.  out gets SF_FINGERPRINT_LEN hex
 * digits and a NUL.
 */
SF_HIDDEN void sf_auth_fingerprint(const char *token, char *out);

/*
 * Picks the refresh token to use: the stored rotated one when it descends
 * from the configured one (stored = "<fingerprint>:<token>"), else the
 * configured one.  Returns a pointer into stored or configured.
 */
SF_HIDDEN const char *sf_auth_pick_refresh_token(const char *configured, const char *stored);

#endif /* SF_AUTH_H */
