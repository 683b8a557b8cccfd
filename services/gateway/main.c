/*
 * main.c - cronfleet-gateway: REST admin calls in, NNG requests out.
 *
 * Only wiring: configuration, logging, signals, the upstream sockets and
 * the HTTP server, then wait for SIGTERM or SIGINT and stop in order.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cf_err.h"
#include "cf_log.h"
#include "gateway.h"

int
main(void)
{
	gw_config        cfg;
	gw_app           app;
	gw_http         *http = NULL;
	sigset_t         stop;
	struct sigaction ign;
	char             err[512];
	int              sig = 0, rv;

	gw_config_load(&cfg);
	cf_log_init("gateway", cfg.log_level);

	/*
	 * Block the stop signals before any thread exists, so every thread
	 * inherits the mask and only sigwait() below ever sees them. A peer
	 * that hangs up must not kill us with SIGPIPE.
	 */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	ign.sa_handler = SIG_IGN;
	ign.sa_flags   = 0;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, NULL);

	app.cfg = &cfg;
	if ((rv = gw_auth_init(&app.auth, cfg.admin_token)) != CF_OK
	    || (rv = gw_upstreams_open(&app.up, &cfg)) != CF_OK) {
		cf_log_error("cannot start: %s", cf_strerror(rv));
		gw_config_fini(&cfg);
		return (1);
	}
	if ((rv = gw_http_start(&http, &app, err, sizeof(err))) != CF_OK) {
		cf_log_error("cannot start: %s", err);
		gw_upstreams_close(app.up);
		gw_config_fini(&cfg);
		return (1);
	}
	cf_log_kv(CF_LOG_INFO, NULL, NULL, "listening", "addr", cfg.addr,
	    "clock", cfg.clock_url, "services", cfg.services, NULL);

	sigwait(&stop, &sig);
	cf_log_info("signal %d: stopping", sig);
	gw_http_stop(http);
	gw_upstreams_close(app.up);
	gw_config_fini(&cfg);
	cf_log_info("stopped");
	return (0);
}
