/*
 * heap.h - the clock's min-heap of next fires.
 *
 * One entry per job slot (0 .. capacity-1): its next fire instant. The
 * clock sleeps until the top's instant, fires it, and updates the entry
 * with that job's following fire. Every operation is O(log n) and none
 * allocates after clock_heap_init.
 */
#ifndef CLOCK_HEAP_H
#define CLOCK_HEAP_H

#include <stdint.h>

typedef struct {
	int64_t at;  /* next fire, UTC ms */
	int     job; /* job slot */
} clock_heap_entry;

typedef struct {
	clock_heap_entry *e;   /* heap array */
	int *             pos; /* pos[job]: index in e, or -1 if absent */
	int               n;   /* entries in use */
	int               cap; /* job slots */
} clock_heap;

/* Room for job slots 0 .. cap-1. Returns 0 or CF_ENOMEM. */
int clock_heap_init(clock_heap *h, int cap);
void clock_heap_fini(clock_heap *h);

/* Sets (inserts or moves) job's next fire to at. */
void clock_heap_set(clock_heap *h, int job, int64_t at);

/* Removes job (a paused job, a schedule that never fires again). */
void clock_heap_remove(clock_heap *h, int job);

/* The earliest entry, or NULL when empty. Valid until the next change. */
const clock_heap_entry *clock_heap_top(const clock_heap *h);

#endif /* CLOCK_HEAP_H */
