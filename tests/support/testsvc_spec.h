/*
 * testsvc_spec.h - the job list of cronfleet-testsvc, parsed from
 * CF_TESTSVC_JOBS (see testsvc.c for the format).
 */
#ifndef TESTSVC_SPEC_H
#define TESTSVC_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "cf_service.h"

/* One job: its declaration for the runtime and what its runs do. */
typedef struct tsv_job {
	cf_job_def def; /* strings point into the fields below */
	char       name[CF_PROTO_MAX_NAME + 1];
	char       schedule[256];
	char       tz[64];
	char       priority[16];
	char       after[CF_PROTO_MAX_NAME + 1];
	int64_t    work_ms;   /* real work: sleeps in 10 ms steps */
	uint32_t   fail;      /* the first fail attempts of each fire fail */
	double     failp;     /* probability 0..1 that an attempt fails */
	int        permanent; /* failures are permanent */
	int        hang;      /* ignores cancellation */
} tsv_job;

/*
 * Parses spec ("name|schedule|key=val,key=val;name|..."). On success
 * *out is a malloc'd array of *n jobs (free() it) whose defs are ready
 * for cf_service_register (fn is left NULL for the caller to set).
 * Returns 0, or -1 with err saying what is wrong.
 */
int tsv_parse(
    const char *spec, tsv_job **out, size_t *n, char *err, size_t errlen);

#endif /* TESTSVC_SPEC_H */
