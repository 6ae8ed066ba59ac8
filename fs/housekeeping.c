/* housekeeping — see housekeeping.h. */
#include "housekeeping.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <syslog.h>

#include "../cache/ttl_cache.h"
#include "follow.h"

struct housekeeping {
	struct ncffs *fs;
	pthread_t thread;
	atomic_bool stopping;
};

static void wait_a_second(struct ncffs *fs)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 1;
	while (sem_timedwait(&fs->wakeup, &until) != 0 && errno == EINTR)
		;
}

static void *run(void *arg)
{
	struct housekeeping *hk = arg;
	struct ncffs *fs = hk->fs;

	while (!atomic_load(&hk->stopping)) {
		wait_a_second(fs);
		follow_reap(fs->follow);
		if (atomic_exchange(&fs->hup_pending, false)) {
			ttl_cache_clear(fs->cache);
			log_msg(&fs->log, LOG_INFO, "SIGHUP: dropped cached listings and records");
		}
	}
	return NULL;
}

struct housekeeping *housekeeping_start(struct ncffs *fs)
{
	struct housekeeping *hk = calloc(1, sizeof(*hk));

	if (!hk)
		return NULL;
	hk->fs = fs;
	if (pthread_create(&hk->thread, NULL, run, hk) != 0) {
		free(hk);
		return NULL;
	}
	return hk;
}

void housekeeping_stop(struct housekeeping *hk)
{
	if (!hk)
		return;
	atomic_store(&hk->stopping, true);
	sem_post(&hk->fs->wakeup);
	pthread_join(hk->thread, NULL);
	free(hk);
}
