/* fuzz_persist — persist_decode_activation on hostile bytes: what a disk
 * cache entry could hold if its checksum were ever fooled (fs/persist.h).
 *
 * Input: the bytes, handed over exactly (no NUL after them).
 *
 * Invariants checked:
 *   - decoding never reads past the bytes (ASan) and gives NULL or a record
 *     whose texts are all there and NUL-terminated (record_json and
 *     result_json right after their record_len/result_len bytes), and an
 *     id of at most 32 characters;
 *   - a decoded record encodes to bytes that decode to the same record. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/persist.h"
#include "tests/fuzz/fuzz_common.h"

static bool same(const struct ncf_activation *a, const struct ncf_activation *b)
{
	size_t i;

	if (strcmp(a->id, b->id) || a->start_ms != b->start_ms ||
	    a->end_ms != b->end_ms || a->duration_ms != b->duration_ms ||
	    a->init_time_ms != b->init_time_ms ||
	    a->has_annotations != b->has_annotations || a->success != b->success ||
	    strcmp(a->status, b->status) || a->record_len != b->record_len ||
	    a->result_len != b->result_len || a->log_count != b->log_count ||
	    memcmp(a->record_json, b->record_json, a->record_len) ||
	    memcmp(a->result_json, b->result_json, a->result_len))
		return false;
	for (i = 0; i < a->log_count; i++) {
		if (strcmp(a->logs[i], b->logs[i]))
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *bytes = fuzz_exact(data, size), *again = NULL;
	struct ncf_activation *r = persist_decode_activation(bytes, size), *back;
	size_t len = 0, i;

	if (r) {
		fuzz_require(strlen(r->id) <= NCF_ACTIVATION_ID_LEN, "id too long");
		fuzz_require(r->status && r->record_json && r->result_json, "a NULL text");
		fuzz_require(r->record_json[r->record_len] == '\0', "record not terminated");
		fuzz_require(r->result_json[r->result_len] == '\0', "result not terminated");
		for (i = 0; i < r->log_count; i++)
			fuzz_require(r->logs[i] != NULL, "a NULL log entry");
		again = persist_encode_activation(r, &len);
		fuzz_require(again != NULL, "no memory");
		back = persist_decode_activation(again, len);
		fuzz_require(back && same(r, back), "does not round-trip");
		ncf_activation_free(back);
	}
	ncf_activation_free(r);
	free(again);
	free(bytes);
	return 0;
}
