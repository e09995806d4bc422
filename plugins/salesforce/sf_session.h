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

/* Gives inst an access token: the shared one, or a new login.  Statuses of sf_auth_login(). */
SF_HIDDEN int sf_session_get(sf_instance *inst);

/* After a 401 with inst's token: adopts a newer shared token, or logs in again. */
SF_HIDDEN int sf_session_renew(sf_instance *inst);

/* Detaches inst (at close); the last one out wipes the shared token. */
SF_HIDDEN void sf_session_release(sf_instance *inst);

#endif /* SF_SESSION_H */
