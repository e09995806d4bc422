/*
 * core/notify.c - sd_notify messages for systemd (notify.h).
 */
#include "notify.h"

#ifdef SYNCC_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>

static void notify_send(const char *msg)
{
    /* unset_environment = 0: job threads and a reloaded engine keep notifying */
    (void)sd_notify(0, msg);
}

int64_t syncc_notify_watchdog_usec(void)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0)
        return 0;
    return (int64_t)(usec / 2);
}
#else
static void notify_send(const char *msg)
{
    (void)msg;
}

int64_t syncc_notify_watchdog_usec(void)
{
    return 0;
}
#endif

void syncc_notify_ready(void)
{
    notify_send("READY=1\nSTATUS=scheduling jobs");
}

void syncc_notify_reloading(void)
{
    notify_send("RELOADING=1\nSTATUS=reloading the configuration");
}

void syncc_notify_stopping(void)
{
    notify_send("STOPPING=1\nSTATUS=stopping at the next batch boundary");
}

void syncc_notify_watchdog(void)
{
    notify_send("WATCHDOG=1");
}
