/* types — constructors and destructors of the plain values in ncf_types.h. */
#include "ncf_types.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ncf_list_item_release(struct ncf_list_item *item)
{
	free(item->name);
	free(item->status);
	item->name = item->status = NULL;
}

void ncf_listing_free(struct ncf_listing *listing)
{
	size_t i;

	if (!listing)
		return;
	for (i = 0; i < listing->count; i++)
		ncf_list_item_release(&listing->items[i]);
	free(listing->items);
	free(listing);
}

int ncf_listing_append(struct ncf_listing *listing, struct ncf_list_item *item)
{
	struct ncf_list_item *grown;

	if (listing->count == listing->capacity) {
		size_t capacity = listing->capacity ? listing->capacity * 2 : 32;

		grown = realloc(listing->items, capacity * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		listing->items = grown;
		listing->capacity = capacity;
	}
	listing->items[listing->count++] = *item;
	listing->bytes += sizeof(*item) + strlen(item->name) + 1 +
			  (item->status ? strlen(item->status) + 1 : 0);
	item->name = item->status = NULL;
	return 0;
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
