/* follow_buffer — a ring of the newest bytes of a growing stream (see
 * follow_buffer.h). Offset o lives at o % allocated, so growing the ring
 * moves the kept bytes to their places in the new one; nothing here ever
 * moves a byte to another offset. */
#include "follow_buffer.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The first ring: enough for a few activations' logs. */
#define RING_MIN 4096

void follow_buffer_init(struct follow_buffer *b, size_t capacity)
{
	memset(b, 0, sizeof(*b));
	b->capacity = capacity ? capacity : 1;
}

void follow_buffer_release(struct follow_buffer *b)
{
	free(b->ring);
	memset(b, 0, sizeof(*b));
}

static size_t smaller(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* n bytes of src to stream offset o of a ring of allocated bytes. */
static void ring_put(char *ring, size_t allocated, uint64_t o, const char *src,
		     size_t n)
{
	size_t at = (size_t)(o % allocated), head = smaller(n, allocated - at);

	memcpy(ring + at, src, head);
	memcpy(ring, src + head, n - head);
}

/* n bytes at stream offset o of a ring of allocated bytes, to dst. */
static void ring_get(const char *ring, size_t allocated, uint64_t o, char *dst,
		     size_t n)
{
	size_t at = (size_t)(o % allocated), head = smaller(n, allocated - at);

	memcpy(dst, ring + at, head);
	memcpy(dst + head, ring, n - head);
}

/* A ring of want bytes (doubling from RING_MIN, at most capacity) with the
 * kept bytes at their offsets. Keeps the old ring when there is no memory;
 * -ENOMEM only when there is no ring at all. */
static int grow(struct follow_buffer *b, size_t want)
{
	size_t allocated = b->allocated ? b->allocated : RING_MIN;
	size_t kept = (size_t)(b->size - b->first), head;
	char *ring;

	while (allocated < want && allocated < b->capacity / 2)
		allocated *= 2;
	allocated = smaller(allocated < want ? b->capacity : allocated,
			    b->capacity);
	if (allocated <= b->allocated)
		return 0;
	ring = malloc(allocated);
	if (!ring)
		return b->ring ? 0 : -ENOMEM;
	if (kept) {
		/* The kept bytes are at most two runs of the old ring. */
		head = smaller(kept, b->allocated - (size_t)(b->first % b->allocated));
		ring_put(ring, allocated, b->first,
			 b->ring + b->first % b->allocated, head);
		ring_put(ring, allocated, b->first + head, b->ring, kept - head);
	}
	free(b->ring);
	b->ring = ring;
	b->allocated = allocated;
	return 0;
}

int follow_buffer_append(struct follow_buffer *b, const char *data, size_t len)
{
	uint64_t size = b->size + len;
	size_t want = (size_t)smaller(size - b->first, b->capacity);
	int rc;

	if (len == 0)
		return 0;
	rc = want > b->allocated ? grow(b, want) : 0;
	if (rc)
		return rc;
	if (len > b->allocated) {
		/* Only the tail survives: the rest would go at once. */
		data += len - b->allocated;
		len = b->allocated;
	}
	ring_put(b->ring, b->allocated, size - len, data, len);
	b->size = size;
	if (b->size - b->first > b->allocated)
		b->first = b->size - b->allocated;
	return 0;
}

ssize_t follow_buffer_read(const struct follow_buffer *b, char *out,
			   size_t size, off_t offset)
{
	uint64_t at = (uint64_t)offset;
	size_t n;

	if (offset < 0)
		return -EINVAL;
	if (at >= b->size)
		return 0;
	if (at < b->first)
		return -EIO;
	n = (size_t)smaller(size, (size_t)(b->size - at));
	if (n > SSIZE_MAX)
		n = SSIZE_MAX;
	ring_get(b->ring, b->allocated, at, out, n);
	return (ssize_t)n;
}
