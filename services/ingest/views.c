/*
 * views.c - read-only views of ingested data for the gateway and the CLI.
 * (Being written: this placeholder answers none yet.)
 */
#include "ingest.h"

int
ingest_views_command(void *ctx, const cf_command *cmd, cJSON **data,
    char *err, size_t errlen)
{
	(void) ctx;
	(void) cmd;
	(void) data;
	(void) err;
	(void) errlen;
	return (0);
}
