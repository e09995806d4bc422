/*
 * sf_session.h - one Salesforce session shared by the instances open at the
 * same time with the same credentials.
 *
 * A run with parallel_streams opens a source instance per stream worker;
 * each would otherwise ask the token endpoint for its own session.  Instances
 * with the same login URL, client id, grant and secret share one entry: the
 * first to need a token logs in (the others wait for it), a 401 renews the
 * session once for all of them, credentials the token endpoint refused are
 * not tried again by the others, and the entry is wiped when the last of
 * them closes, so a later run starts with a fresh login as before.
 */
#ifndef SF_SESSION_H
#define SF_SESSION_H

#include "sf_internal.h"

/*
 * Gives inst a usable access token: the shared one, unless that is the one
 * inst holds already (just refused with a 401), else a new login shared with
 * the others.  For the first call and after a 401 alike; statuses of
 * sf_auth_login().
 */
SF_HIDDEN int sf_session_token(sf_instance *inst);

/*
 * The daily API usage of inst's session (sf_limits.h), attaching inst first;
 * NULL when out of memory.  Valid until inst is released.
 */
SF_HIDDEN struct sf_usage *sf_session_usage(sf_instance *inst);

/* Detaches inst (at close); the last one out keeps the API usage in the plugin
 * state and wipes the shared token. */
SF_HIDDEN void sf_session_release(sf_instance *inst);

#endif /* SF_SESSION_H */
