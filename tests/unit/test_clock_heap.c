/*
 * test_clock_heap.c - the clock's min-heap against a sorted model.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "heap.h"

/* The model: at[job] or -1; the minimum by (at, job). */
static int
model_min(const int64_t *at, int n)
{
	int best = -1;
	for (int j = 0; j < n; j++) {
		if (at[j] >= 0 && (best < 0 || at[j] < at[best])) {
			best = j;
		}
	}
	return (best);
}

static void
heap_matches_model_under_random_ops(void **state)
{
	enum { N = 64 };
	clock_heap h;
	int64_t    at[N];
	uint32_t   x = 12345;
	(void) state;

	assert_int_equal(clock_heap_init(&h, N), 0);
	for (int j = 0; j < N; j++) {
		at[j] = -1;
	}
	for (int step = 0; step < 200000; step++) {
		int job, op, m;
		const clock_heap_entry *top;
		x   = x * 1103515245u + 12345u;
		job = (int) ((x >> 8) % N);
		op  = (int) ((x >> 20) % 4);
		if (op == 0) {
			clock_heap_remove(&h, job);
			at[job] = -1;
		} else {
			/* Few distinct instants, so ties are common. */
			at[job] = (int64_t) ((x >> 3) % 50);
			clock_heap_set(&h, job, at[job]);
		}
		m   = model_min(at, N);
		top = clock_heap_top(&h);
		if (m < 0) {
			assert_null(top);
		} else {
			assert_non_null(top);
			assert_int_equal(top->job, m);
			assert_int_equal(top->at, at[m]);
		}
	}
	clock_heap_fini(&h);
}

static void
heap_pops_in_order(void **state)
{
	clock_heap h;
	int64_t    last = -1;
	(void) state;
	assert_int_equal(clock_heap_init(&h, 1000), 0);
	for (int j = 0; j < 1000; j++) {
		clock_heap_set(&h, j, (int64_t) ((j * 7919) % 1000));
	}
	for (int k = 0; k < 1000; k++) {
		const clock_heap_entry *t = clock_heap_top(&h);
		assert_non_null(t);
		assert_true(t->at >= last);
		last = t->at;
		clock_heap_remove(&h, t->job);
	}
	assert_null(clock_heap_top(&h));
	/* Out-of-range slots are ignored. */
	clock_heap_set(&h, -1, 5);
	clock_heap_set(&h, 1000, 5);
	clock_heap_remove(&h, 5000);
	assert_null(clock_heap_top(&h));
	clock_heap_fini(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(heap_matches_model_under_random_ops),
		cmocka_unit_test(heap_pops_in_order),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
