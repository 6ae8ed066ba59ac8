/* metrics — see metrics.h. Endpoints are named by their path shape with
 * every name replaced by "*" ("packages/ * /actions/ * /activations/ *",
 * without the spaces), so the table stays small however many packages and
 * activations there are. */
#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENDPOINT_MAX 64

struct pair {
	char endpoint[ENDPOINT_MAX];
	long status;
	uint64_t count;
};

struct metrics {
	pthread_mutex_t lock;
	struct pair pairs[METRICS_PAIRS];
	size_t pair_count;
	uint64_t other, requests, retries, in_flight;
	double samples[METRICS_SAMPLES];
	size_t sample_count, sample_next;
};

struct metrics *metrics_new(void)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (m)
		pthread_mutex_init(&m->lock, NULL);
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void metrics_begin(struct metrics *m)
{
	pthread_mutex_lock(&m->lock);
	m->in_flight++;
	pthread_mutex_unlock(&m->lock);
}

/* "/packages/p/actions/a?x" becomes "packages/ * /actions/ *" (no spaces):
 * segments at odd positions are names. */
static void endpoint_shape(const char *path, char *out, size_t size)
{
	size_t at = 0, segment = 0;

	for (; *path == '/'; path++)
		;
	while (*path && *path != '?' && at + 2 < size) {
		size_t n = strcspn(path, "/?");

		if (segment % 2 == 1) {
			out[at++] = '*';
		} else {
			if (n > size - at - 2)
				n = size - at - 2;
			memcpy(out + at, path, n);
			at += n;
		}
		path += strcspn(path, "/?");
		if (*path == '/') {
			out[at++] = '/';
			path++;
		}
		segment++;
	}
	out[at] = '\0';
}

static void count_pair(struct metrics *m, const char *endpoint, long status)
{
	size_t i;

	for (i = 0; i < m->pair_count; i++) {
		if (m->pairs[i].status == status &&
		    strcmp(m->pairs[i].endpoint, endpoint) == 0) {
			m->pairs[i].count++;
			return;
		}
	}
	if (m->pair_count == METRICS_PAIRS) {
		m->other++;
		return;
	}
	snprintf(m->pairs[i].endpoint, ENDPOINT_MAX, "%s", endpoint);
	m->pairs[i].status = status;
	m->pairs[i].count = 1;
	m->pair_count++;
}

void metrics_end(struct metrics *m, const char *target, size_t base_len,
		 long status, double elapsed_ms, int retried)
{
	char endpoint[ENDPOINT_MAX];

	endpoint_shape(strlen(target) >= base_len ? target + base_len : target,
		       endpoint, sizeof(endpoint));
	pthread_mutex_lock(&m->lock);
	m->in_flight--;
	m->requests++;
	m->retries += retried ? 1 : 0;
	count_pair(m, endpoint, status);
	m->samples[m->sample_next] = elapsed_ms;
	m->sample_next = (m->sample_next + 1) % METRICS_SAMPLES;
	if (m->sample_count < METRICS_SAMPLES)
		m->sample_count++;
	pthread_mutex_unlock(&m->lock);
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static size_t append(char *buf, size_t size, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static size_t append(char *buf, size_t size, size_t at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (at >= size)
		return at;
	va_start(ap, fmt);
	n = vsnprintf(buf + at, size - at, fmt, ap);
	va_end(ap);
	return n < 0 ? at : at + (size_t)n;
}

/* Nearest-rank percentile of sorted samples. */
static double percentile(const double *sorted, size_t n, double p)
{
	size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);

	if (n == 0)
		return 0;
	return sorted[(rank ? rank : 1) - 1];
}

size_t metrics_format(struct metrics *m, char *buf, size_t size)
{
	double *sorted = malloc(METRICS_SAMPLES * sizeof(*sorted));
	size_t at = 0, i, n;

	pthread_mutex_lock(&m->lock);
	at = append(buf, size, at, "api_requests %llu\napi_retries %llu\napi_in_flight %llu\n",
		    (unsigned long long)m->requests, (unsigned long long)m->retries,
		    (unsigned long long)m->in_flight);
	for (i = 0; i < m->pair_count; i++)
		at = append(buf, size, at, "api_calls:%s:%ld %llu\n",
			    m->pairs[i].endpoint, m->pairs[i].status,
			    (unsigned long long)m->pairs[i].count);
	if (m->other)
		at = append(buf, size, at, "api_calls:other %llu\n",
			    (unsigned long long)m->other);
	n = sorted ? m->sample_count : 0;
	if (n)
		memcpy(sorted, m->samples, n * sizeof(*sorted));
	pthread_mutex_unlock(&m->lock);
	qsort(sorted, n, sizeof(*sorted), compare_doubles);
	at = append(buf, size, at,
		    "api_latency_ms_p50 %.1f\napi_latency_ms_p90 %.1f\napi_latency_ms_p99 %.1f\napi_latency_ms_max %.1f\n",
		    percentile(sorted, n, 50), percentile(sorted, n, 90),
		    percentile(sorted, n, 99), n ? sorted[n - 1] : 0.0);
	free(sorted);
	return at;
}
