/*
 * core/notify.h - telling a service manager how the daemon is doing.
 *
 * Under systemd with Type=notify (conf/syncengine.service) the daemon says
 * READY=1 once it schedules jobs, WATCHDOG=1 from every turn of the scheduler
 * loop, and STOPPING=1 when it begins to stop.  Without $NOTIFY_SOCKET, or in a
 * build without libsystemd, every call does nothing.  Thread-safe.
 */
#ifndef SYNCC_NOTIFY_H
#define SYNCC_NOTIFY_H

#include <stdint.h>

void syncc_notify_ready(void);
void syncc_notify_reloading(void);
void syncc_notify_stopping(void);
/* A watchdog ping; cheap enough to call on every loop turn. */
void syncc_notify_watchdog(void);
/*
 * The longest the scheduler may sleep between two pings: half the watchdog
 * interval systemd asked for, or 0 when there is no watchdog.
 */
int64_t syncc_notify_watchdog_usec(void);

#endif /* SYNCC_NOTIFY_H */
