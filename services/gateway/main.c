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
#include <string.h>

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
	memset(&app, 0, sizeof(app));
	app.cfg = &cfg;
	/* A token list that cannot be read is a configuration error. */
	if ((rv = gw_auth_open(&app.auth, &cfg, err, sizeof(err))) != CF_OK) {
		fprintf(stderr, "cronfleet-gateway: %s\n",
		    rv == CF_EINVAL ? err : cf_strerror(rv));
		gw_config_fini(&cfg);
		return (rv == CF_EINVAL ? 2 : 1);
	}

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

	if (gw_askers_start() != 0) {
		cf_log_warn("no asker threads: services are asked one by one");
	}
	if ((rv = gw_upstreams_open(&app.up, &cfg)) != CF_OK
	    || (rv = gw_events_start(&app.events, &cfg)) != CF_OK
	    || (rv = gw_audit_open(&app.audit, &cfg, err, sizeof(err)))
	        != CF_OK) {
		cf_log_error("cannot start: %s", cf_strerror(rv));
		goto fail;
	}
	if ((rv = gw_http_start(&http, &app, err, sizeof(err))) != CF_OK) {
		cf_log_error("cannot start: %s", err);
		goto fail;
	}
	cf_log_kv(CF_LOG_INFO, NULL, NULL, "listening", "addr", cfg.addr,
	    "clock", cfg.clock_url, "services", cfg.services, NULL);

	sigwait(&stop, &sig);
	cf_log_info("signal %d: stopping", sig);
	/*
	 * Event streams first: they block in their readers, and the HTTP
	 * server waits for every connection thread when it stops. Then the
	 * audit, which writes what is still queued.
	 */
	gw_events_stop(app.events);
	gw_http_stop(http);
	gw_askers_stop();
	gw_status_share_free();
	gw_events_free(app.events);
	gw_audit_close(app.audit);
	gw_upstreams_close(app.up);
	gw_auth_close(app.auth);
	gw_describe_fini();
	gw_config_fini(&cfg);
	cf_log_info("stopped");
	return (0);

fail:
	gw_askers_stop();
	gw_audit_close(app.audit);
	gw_events_stop(app.events);
	gw_events_free(app.events);
	if (app.up != NULL) {
		gw_upstreams_close(app.up);
	}
	gw_auth_close(app.auth);
	gw_config_fini(&cfg);
	return (1);
}
