/* test_persist — the record as fs/ keeps it on disk (fs/persist.h): every
 * field comes back, and any cut or changed version of the bytes decodes
 * to NULL (a miss), never to a wrong or partial record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fs/persist.h"

static char *dup_text(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	return d;
}

static struct ncf_activation *sample(size_t logs)
{
	struct ncf_activation *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	memcpy(r->id, "0123456789abcdef0123456789abcdef", 33);
	r->start_ms = 1714111020170;
	r->end_ms = 1714111020171;
	r->duration_ms = 1;
	r->init_time_ms = NCF_UNKNOWN;
	r->has_annotations = true;
	r->success = false;
	r->status = dup_text("application error");
	r->record_json = dup_text("{\n  \"a\": 1\n}\n");
	r->record_len = strlen(r->record_json);
	r->result_json = dup_text("{}\n");
	r->result_len = 3;
	r->logs = calloc(logs ? logs : 1, sizeof(char *));
	assert_non_null(r->logs);
	for (r->log_count = 0; r->log_count < logs; r->log_count++)
		r->logs[r->log_count] = dup_text(r->log_count % 2 ? "x stdout: a\nb" : "");
	return r;
}

static void a_record_round_trips(void **state)
{
	size_t counts[] = { 0, 1, 7 };
	size_t c, i, len = 0;

	(void)state;
	for (c = 0; c < 3; c++) {
		struct ncf_activation *r = sample(counts[c]), *back;
		char *bytes = persist_encode_activation(r, &len);

		assert_non_null(bytes);
		back = persist_decode_activation(bytes, len);
		assert_non_null(back);
		assert_string_equal(back->id, r->id);
		assert_true(back->start_ms == r->start_ms && back->end_ms == r->end_ms &&
			    back->duration_ms == r->duration_ms &&
			    back->init_time_ms == r->init_time_ms);
		assert_true(back->has_annotations && !back->success);
		assert_string_equal(back->status, r->status);
		assert_int_equal(back->record_len, r->record_len);
		assert_memory_equal(back->record_json, r->record_json, r->record_len);
		assert_string_equal(back->result_json, r->result_json);
		assert_int_equal(back->log_count, r->log_count);
		for (i = 0; i < r->log_count; i++)
			assert_string_equal(back->logs[i], r->logs[i]);
		ncf_activation_free(back);
		ncf_activation_free(r);
		free(bytes);
	}
}

static void cut_or_changed_bytes_decode_to_nothing(void **state)
{
	struct ncf_activation *r = sample(3);
	size_t len = 0, n;
	char *bytes = persist_encode_activation(r, &len);

	(void)state;
	for (n = 0; n < len; n++)
		assert_null(persist_decode_activation(bytes, n));
	bytes[0] ^= 1; /* another version */
	assert_null(persist_decode_activation(bytes, len));
	free(bytes);
	ncf_activation_free(r);
}

static void only_facts_are_kept_as_blobs(void **state)
{
	(void)state;
	assert_true(persist_is_kept_blob("O/packages/p/actions/a"));
	assert_false(persist_is_kept_blob("L/packages"));
	assert_false(persist_is_kept_blob("R/packages/p/actions/a/activations/x"));
	assert_false(persist_is_kept_blob("O"));
	assert_false(persist_is_kept_blob(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_record_round_trips),
		cmocka_unit_test(cut_or_changed_bytes_decode_to_nothing),
		cmocka_unit_test(only_facts_are_kept_as_blobs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
