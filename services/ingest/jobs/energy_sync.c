/* energy_sync.c - being written (issue 6): placeholder that fails permanently. */
#include "ingest.h"

int
energy_sync_run(cf_run *run, cf_job_result *res)
{
	(void) run;
	cf_result_fail(res, "energy_sync is not written yet");
	cf_result_permanent(res);
	return (CF_EINVAL);
}
