/* types — constructors and destructors of the plain values in ncf_types.h. */
#include "ncf_types.h"

#include <stdlib.h>
#include <string.h>

void ncf_listing_free(struct ncf_listing *listing)
{
	size_t i;

	if (!listing)
		return;
	for (i = 0; i < listing->count; i++) {
		free(listing->items[i].name);
		free(listing->items[i].status);
	}
	free(listing->items);
	free(listing);
}

struct ncf_blob *ncf_blob_new(const char *data, size_t len)
{
	struct ncf_blob *blob = malloc(sizeof(*blob) + len + 1);

	if (!blob)
		return NULL;
	blob->len = len;
	if (len)
		memcpy(blob->data, data, len);
	blob->data[len] = '\0';
	return blob;
}

void ncf_blob_free(struct ncf_blob *blob)
{
	free(blob);
}

void ncf_activation_free(struct ncf_activation *activation)
{
	size_t i;

	if (!activation)
		return;
	for (i = 0; i < activation->log_count; i++)
		free(activation->logs[i]);
	free(activation->logs);
	free(activation->status);
	free(activation->record_json);
	free(activation->result_json);
	free(activation);
}
