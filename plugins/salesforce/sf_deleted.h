/*
 * sf_deleted.h - records hard-deleted in Salesforce, through the getDeleted
 * resource (GET /services/data/vXX.X/sobjects/{Object}/deleted/?start=&end=).
 *
 * queryAll returns records in the recycle bin (IsDeleted) but not those
 * purged from it; an incremental read asks getDeleted for the window since
 * its saved position and emits a delete for every id listed, so a record
 * purged within Salesforce's retention still reaches the sink.
 *
 * It runs before the read's query and its deletes go first: batches are
 * stored in order, so a saved position proves that the deletes listed by the
 * read that saved it were stored, and the next read lists only deletions
 * after that position (its window starts at the minute before; earlier
 * entries are left out).  The query then leaves out the recycle-bin records
 * getDeleted delivered.  A purge after the position is listed again by later
 * reads until a change moves the position: a delete is idempotent in the
 * sink (nothing is rewritten), it only counts.
 */
#ifndef SF_DELETED_H
#define SF_DELETED_H

#include <stdint.h>

#include "sf_internal.h"
#include "sf_source.h"

/* Salesforce's widest getDeleted window: 30 days back from now. */
#define SF_DELETED_MAX_DAYS 30

/*
 * Emits (host->emit, no cursor) a delete record for every record of
 * plan->object deleted between from_us and to_us (microseconds; from_us is
 * clamped to the 30 days Salesforce allows).  Each record carries the plan's
 * fields: Id, IsDeleted true, the cursor field set to deletedDate, the rest
 * null; deletions at or before from_us are left out, and the ids emitted are
 * added to delivered.  When Salesforce no longer has the whole window
 * (earliestDateAvailable later than from_us) the gap is reported as a
 * warning naming the fix (a full refresh).  When the org refuses the
 * resource (403, 404) that is logged once and remembered in the instance's
 * state, and later runs do not ask again.  Returns SYNC_OK in those cases;
 * errors that would stop any call (rate limit, cancellation, the network
 * after its retries) are returned.  *n_out receives the records emitted.
 */
SF_HIDDEN int sf_deleted_read(sf_instance *inst, const sf_plan *plan, int64_t from_us, int64_t to_us,
                              sf_idset *delivered, sync_emitter *em, int64_t *n_out);

#endif /* SF_DELETED_H */
