/*
 * cf_service_int.h - internals of the job runtime shared by
 * cf_service.c (start, ticks, workers) and cf_service_cmd.c (commands).
 * Not for services: they use cf_service.h.
 */
#ifndef CF_SERVICE_INT_H
#define CF_SERVICE_INT_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include "cf_nng.h"
#include "cf_service.h"

/* REP workers: commands are short, but history and status wait on
 * PostgreSQL and the forwarded ones on the clock. */
#define CF__SVC_REP_WORKERS 4

struct cf_job_result {
	int   failed;
	int   permanent;
	char  error[1024];
	char *json; /* compact JSON text, or NULL */
};

/* A job worker: one thread with its own database handles. */
typedef struct cf__worker {
	struct cf_service *svc;
	pthread_t          thr;
	int                started;
	cf_pg             *pg;    /* opened on first use */
	cf_redis          *redis; /* opened on first use */
	/* The run in progress, under svc->mu; cur is NULL when idle. */
	const cf_tick *cur;
	char           cur_run_id[40];
	int64_t        cur_started;
} cf__worker;

typedef struct cf__svc_job {
	const cf_job_def *def;
	int               registered; /* the clock accepted it */
	unsigned          failures;   /* registration attempts that failed */
} cf__svc_job;

struct cf_service {
	const cf_service_opts *opts;
	int64_t                started_at; /* unix ms */
	sigset_t               sigs;

	pthread_mutex_t mu;     /* jobs' registered flags, queue, stop */
	pthread_cond_t  cv;     /* queue not empty, or stop */
	pthread_cond_t  reg_cv; /* stop, for the registration thread */
	cf__svc_job    *jobs;   /* fixed once registered */
	size_t          njobs;
	cf_tick       **queue; /* ring of ticks waiting for a worker */
	size_t          qhead;
	size_t          qlen;
	int             stop;
	pthread_cond_t  idle_cv; /* a worker finished a run */
	int             busy;    /* runs in progress */

	cf__worker *workers;
	int         nworkers;
	pthread_t   reg_thr;
	int         reg_started;

	/* Commands: one connection for every REP worker, under cmd_mu. */
	pthread_mutex_t cmd_mu;
	cf_pg          *cmd_pg;
	cf_req         *clock_req; /* forwarded commands */
	cf_req         *reg_req;   /* registration thread */
	cf_rep         *rep;
	cf_pub         *pub;
	cf_sub         *sub;
};

int64_t            cf__svc_now_ms(void);
const cf__svc_job *cf__svc_find(const cf_service *svc, const char *name);

/* The REP handler (cf_service_cmd.c). */
void cf__svc_handle(void *arg, const uint8_t *req, size_t len, uint8_t **reply,
    size_t *reply_len);

#endif /* CF_SERVICE_INT_H */
