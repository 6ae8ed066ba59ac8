/* follow_buffer — the bytes of a file that only grows, of which only the
 * newest are kept: what a follow.log serves. Pure: no locks, no I/O, no
 * clock; fs/follow.c holds its lock around every call.
 *
 * Invariants:
 *  - Offsets are positions in the whole stream: a byte appended at offset o
 *    stays at o for good, and size (the stream's length) never shrinks.
 *  - Only the bytes [first, size) are kept, and size - first <= capacity:
 *    appending past capacity drops the oldest bytes. A read that starts
 *    before first is -EIO, never other bytes at that offset.
 *  - Memory follows what is kept (the ring doubles from a small start) and
 *    never exceeds capacity bytes of data.
 *
 * Lifecycle: follow_buffer_init, then appends and reads, then
 * follow_buffer_release. A zeroed struct after release is empty. */
#ifndef NCFFS_FOLLOW_BUFFER_H
#define NCFFS_FOLLOW_BUFFER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct follow_buffer {
	char *ring;        /* allocated bytes; stream offset o is at o % allocated */
	size_t allocated;  /* 0 until the first append; at most capacity */
	size_t capacity;   /* the most bytes kept */
	uint64_t first;    /* offset of the oldest byte kept */
	uint64_t size;     /* offset after the newest byte: the file's size */
};

/* An empty stream that keeps at most capacity (> 0) bytes; allocates
 * nothing yet. */
void follow_buffer_init(struct follow_buffer *b, size_t capacity);
void follow_buffer_release(struct follow_buffer *b);

/* Appends len bytes at offset size; the oldest bytes go when more than
 * capacity would be kept (of an append longer than capacity, only its last
 * capacity bytes are kept). 0, or -ENOMEM when no memory at all could be
 * had (then nothing changed). When the ring cannot grow it keeps the size
 * it has, dropping old bytes sooner. */
int follow_buffer_append(struct follow_buffer *b, const char *data, size_t len);

/* Copies up to size bytes from offset into out: their count, 0 at or past
 * the end, -EIO when offset is before the oldest byte kept, -EINVAL for a
 * negative offset. */
ssize_t follow_buffer_read(const struct follow_buffer *b, char *out,
			   size_t size, off_t offset);

#endif
