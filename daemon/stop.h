/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stop.h - how the agents (mb-guestd, mb-hostd) stop: SIGTERM and SIGINT
 * set a flag their loops check, and every wait is cut short by it.
 */
#ifndef MB_DAEMON_STOP_H
#define MB_DAEMON_STOP_H

#include <signal.h>
#include <stdint.h>

/* Set by SIGTERM and SIGINT once daemon_catch_stop() ran. */
extern volatile sig_atomic_t daemon_stop_requested;

/* Install the handlers for SIGTERM and SIGINT; ignore SIGPIPE. */
void daemon_catch_stop(void);

/*
 * Sleep @ms milliseconds, or less once *@stop is set (a signal interrupts
 * the sleep; @stop may be NULL).
 */
void daemon_sleep_ms(uint64_t ms, const volatile sig_atomic_t *stop);

#endif /* MB_DAEMON_STOP_H */
