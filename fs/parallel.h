/* parallel — run fn(ctx, i) for i in [0, count) on up to `threads` threads
 * (the caller's included). Returns when every call has returned. Used to
 * fetch the records one view needs at once instead of one after another. */
#ifndef NCFFS_PARALLEL_H
#define NCFFS_PARALLEL_H

#include <stddef.h>

void parallel_for(size_t count, unsigned threads,
		  void (*fn)(void *ctx, size_t index), void *ctx);

#endif
