/*
 * main.c - cronfleet-vendor-sim: the vendors' APIs on loopback, so that
 * the ingest service can be run and tested with no internet.
 *
 * Only wiring: configuration, logging, signals, the server, then wait for
 * SIGTERM or SIGINT and stop in order. See docs/vendor-sim.md.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cf_log.h"
#include "sim.h"

int
main(void)
{
	vs_config        cfg;
	vs_sim           sim;
	vs_http         *http = NULL;
	sigset_t         stop;
	struct sigaction ign;
	char             err[256], seed[24];
	int              sig = 0;

	vs_config_load(&cfg);
	cf_log_init("vendor-sim", cfg.log_level);
	vs_sim_init(&sim, &cfg);

	/*
	 * Block the stop signals before any thread exists, so that only
	 * sigwait() below sees them; a client that hangs up must not kill
	 * us with SIGPIPE.
	 */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, NULL);

	if (vs_http_start(&http, &sim, err, sizeof(err)) != 0) {
		cf_log_error("cannot start: %s", err);
		vs_sim_fini(&sim);
		vs_config_fini(&cfg);
		return (1);
	}
	snprintf(seed, sizeof(seed), "%lld", (long long) cfg.seed);
	cf_log_kv(CF_LOG_INFO, NULL, NULL, "listening", "addr", cfg.addr,
	    "seed", seed, "now", cfg.now != NULL ? cfg.now : "real clock",
	    NULL);

	sigwait(&stop, &sig);
	cf_log_info("signal %d: stopping", sig);
	vs_http_stop(http);
	vs_sim_fini(&sim);
	vs_config_fini(&cfg);
	cf_log_info("stopped");
	return (0);
}
