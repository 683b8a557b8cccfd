/*
 * heap.c - binary min-heap with a position index, so that a job's entry
 * can be moved or removed without searching for it.
 */
#include <stdlib.h>

#include "cf_err.h"
#include "heap.h"

int
clock_heap_init(clock_heap *h, int cap)
{
	h->n   = 0;
	h->cap = cap;
	h->e   = calloc((size_t) (cap > 0 ? cap : 1), sizeof(*h->e));
	h->pos = malloc((size_t) (cap > 0 ? cap : 1) * sizeof(*h->pos));
	if (h->e == NULL || h->pos == NULL) {
		clock_heap_fini(h);
		return (CF_ENOMEM);
	}
	for (int i = 0; i < cap; i++) {
		h->pos[i] = -1;
	}
	return (CF_OK);
}

void
clock_heap_fini(clock_heap *h)
{
	free(h->e);
	free(h->pos);
	h->e   = NULL;
	h->pos = NULL;
	h->n = h->cap = 0;
}

/* Ties go to the lower job slot, so the order is deterministic. */
static int
heap_less(const clock_heap_entry *a, const clock_heap_entry *b)
{
	return (a->at < b->at || (a->at == b->at && a->job < b->job));
}

static void
heap_place(clock_heap *h, int i, clock_heap_entry x)
{
	h->e[i]        = x;
	h->pos[x.job] = i;
}

static void
heap_up(clock_heap *h, int i)
{
	clock_heap_entry x = h->e[i];
	while (i > 0) {
		int p = (i - 1) / 2;
		if (!heap_less(&x, &h->e[p])) {
			break;
		}
		heap_place(h, i, h->e[p]);
		i = p;
	}
	heap_place(h, i, x);
}

static void
heap_down(clock_heap *h, int i)
{
	clock_heap_entry x = h->e[i];
	for (;;) {
		int c = 2 * i + 1;
		if (c >= h->n) {
			break;
		}
		if (c + 1 < h->n && heap_less(&h->e[c + 1], &h->e[c])) {
			c++;
		}
		if (!heap_less(&h->e[c], &x)) {
			break;
		}
		heap_place(h, i, h->e[c]);
		i = c;
	}
	heap_place(h, i, x);
}

void
clock_heap_set(clock_heap *h, int job, int64_t at)
{
	int i;
	if (job < 0 || job >= h->cap) {
		return;
	}
	if ((i = h->pos[job]) < 0) {
		i = h->n++;
		heap_place(h, i, (clock_heap_entry) { at, job });
		heap_up(h, i);
		return;
	}
	h->e[i].at = at;
	heap_up(h, i);
	heap_down(h, h->pos[job]);
}

void
clock_heap_remove(clock_heap *h, int job)
{
	int i;
	if (job < 0 || job >= h->cap || (i = h->pos[job]) < 0) {
		return;
	}
	h->pos[job] = -1;
	if (i == --h->n) {
		return;
	}
	/* The last entry fills the hole, then moves up or down. */
	{
		int moved = h->e[h->n].job;
		heap_place(h, i, h->e[h->n]);
		heap_up(h, i);
		heap_down(h, h->pos[moved]);
	}
}

const clock_heap_entry *
clock_heap_top(const clock_heap *h)
{
	return (h->n > 0 ? &h->e[0] : NULL);
}
