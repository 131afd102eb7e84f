// SPDX-License-Identifier: GPL-2.0
/*
 * stop.c - the agents' stop flag and their interruptible sleep (stop.h).
 */
#include <errno.h>
#include <time.h>

#include "stop.h"

volatile sig_atomic_t daemon_stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	daemon_stop_requested = 1;
}

void daemon_catch_stop(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

void daemon_sleep_ms(uint64_t ms, const volatile sig_atomic_t *stop)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (!(stop && *stop) && nanosleep(&ts, &ts) && errno == EINTR)
		;
}
