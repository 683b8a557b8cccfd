// server.mjs - the Fastify 5 peer of cronfleet's gateway for bench/gateway.
//
// Serves the two routes the benchmark drives, with the gateway's JSON
// envelope and shapes, from PostgreSQL (tables in schema.sql):
//
//   GET  /api/v1/scheduler/status         jobs + each job's last run
//   POST /api/v1/scheduler/trigger/:job   one durable row in fires
//
// written as a careful Node developer would: a pg Pool (default size),
// both status queries in flight at once, the bearer token compared as a
// SHA-256 digest with crypto.timingSafeEqual (as services/gateway/auth.c
// does), one log line per request (pino, Fastify's logger).
//
// Environment:
//   DATABASE_URL     PostgreSQL (required)
//   BENCH_ADDR       host:port to listen on (default 127.0.0.1:9081)
//   BENCH_TOKEN      the admin token (required)
//   BENCH_SCHEMA     schema of the tables (default fastify_bench)
//   BENCH_DESCRIBE   1: add "description" (cronstrue) to each job, as the
//                    gateway does when its status carries one
//   BENCH_WORKERS    processes (node:cluster), default 1
//   BENCH_POOL       pg pool size per process (default pg's own, 10)
//   BENCH_LOG        0: no request log (default 1)
//   BENCH_LAST_RUN   distinct (default) or lateral: see RUNS below
import cluster from 'node:cluster';
import crypto from 'node:crypto';
import os from 'node:os';

import cronstrue from 'cronstrue';
import Fastify from 'fastify';
import pg from 'pg';

const env = process.env;
const workers = Number(env.BENCH_WORKERS || 1);

if (workers > 1 && cluster.isPrimary) {
	for (let i = 0; i < workers; i++) cluster.fork();
	cluster.on('exit', (w, code) => {
		console.error(`worker ${w.process.pid} exited ${code}`);
		process.exit(1);
	});
} else {
	await serve();
}

async function serve() {
	if (!env.DATABASE_URL || !env.BENCH_TOKEN) {
		console.error('DATABASE_URL and BENCH_TOKEN are required');
		process.exit(2);
	}
	const [host, port] = (env.BENCH_ADDR || '127.0.0.1:9081').split(':');
	const schema = env.BENCH_SCHEMA || 'fastify_bench';
	const describe = env.BENCH_DESCRIBE === '1';
	const digest = crypto.createHash('sha256').update(env.BENCH_TOKEN).digest();
	const startedAt = new Date().toISOString();
	const pool = new pg.Pool({
		connectionString: env.DATABASE_URL,
		...(env.BENCH_POOL ? { max: Number(env.BENCH_POOL) } : {}),
	});
	const q = (s) => s.replaceAll('%s', `"${schema}"`);

	// The same columns and order as lib/cf_service_cmd.c's status query
	// (DISTINCT ON over the runs); BENCH_LAST_RUN=lateral: one index probe
	// per job instead, for comparing with a service that does that.
	const COLS = `run_id, job, fire_id, trigger, attempt, scheduled_for,
	    started_at, finished_at, status, error, result, final,
	    next_attempt_at, owner`;
	const RUNS = env.BENCH_LAST_RUN === 'lateral'
		? q(`SELECT r.* FROM %s.jobs j CROSS JOIN LATERAL
		    (SELECT ${COLS} FROM %s.job_runs WHERE job = j.job
		     ORDER BY started_at DESC, attempt DESC LIMIT 1) r`)
		: q(`SELECT DISTINCT ON (job) ${COLS} FROM %s.job_runs
		    ORDER BY job, started_at DESC, attempt DESC`);
	const JOBS = q(`SELECT job, service, schedule, tz, enabled, paused,
	    next_fire, misfire, catchup_window_ms, overlap, timeout_ms,
	    priority, retries, after_job, dst_gap, dst_repeat
	    FROM %s.jobs ORDER BY job`);
	// Checks the job exists and records the fire in one statement, as
	// the clock checks its job table and then writes its ledger.
	const TRIGGER = q(`INSERT INTO %s.fires (job, service, scheduled_for,
	    fire_id, trigger)
	    SELECT j.job, j.service, $2::timestamptz, $3, 'manual'
	    FROM %s.jobs j WHERE j.job = $1
	    RETURNING job, service, fire_id, scheduled_for, trigger`);

	const iso = (d) => (d == null ? null : d.toISOString());
	const runJson = (r) => ({
		run_id: r.run_id, job: r.job, fire_id: r.fire_id,
		trigger: r.trigger, attempt: r.attempt,
		scheduled_for: iso(r.scheduled_for), started_at: iso(r.started_at),
		finished_at: iso(r.finished_at), status: r.status, error: r.error,
		result: r.result, final: r.final,
		next_attempt_at: iso(r.next_attempt_at), owner: r.owner,
	});
	const words = (expr) => {
		try {
			return cronstrue.toString(expr);
		} catch {
			return null;
		}
	};
	const fail = (reply, status, error) =>
		reply.code(status).send({ success: false, error });

	const app = Fastify({
		logger: env.BENCH_LOG === '0' ? false : true,
		bodyLimit: 64 * 1024,
	});

	app.addHook('onRequest', async (req, reply) => {
		if (!req.url.startsWith('/api/')) return;
		const h = req.headers.authorization;
		const m = h && /^Bearer (.+)$/.exec(h);
		if (!m) {
			reply.header('WWW-Authenticate', 'Bearer realm="cronfleet"');
			return fail(reply, 401, 'missing bearer token');
		}
		const d = crypto.createHash('sha256').update(m[1]).digest();
		if (!crypto.timingSafeEqual(d, digest)) {
			reply.header('WWW-Authenticate',
				'Bearer realm="cronfleet", error="invalid_token"');
			return fail(reply, 401, 'invalid token');
		}
	});

	app.get('/api/v1/scheduler/status', async (req, reply) => {
		let jobs, runs;
		try {
			[jobs, runs] = await Promise.all([
				pool.query(JOBS), pool.query(RUNS)]);
		} catch (e) {
			return fail(reply, 503, `postgres: ${e.message}`);
		}
		const last = new Map(runs.rows.map((r) => [r.job, r]));
		const out = jobs.rows.map((j) => {
			const r = last.get(j.job);
			const o = {
				job: j.job, service: j.service, schedule: j.schedule,
				tz: j.tz, enabled: j.enabled, paused: j.paused,
				next_fire: iso(j.next_fire), misfire: j.misfire,
				catchup_window_ms: Number(j.catchup_window_ms),
				overlap: j.overlap, timeout_ms: Number(j.timeout_ms),
				priority: j.priority, retries: j.retries,
				after: j.after_job, dst_gap: j.dst_gap,
				dst_repeat: j.dst_repeat,
				last_run: r ? runJson(r) : null,
			};
			if (describe) o.description = words(j.schedule);
			return o;
		});
		return {
			success: true,
			data: {
				status: 'running', running: true, started_at: startedAt,
				leader: {
					clock_id: `${os.hostname()}:${process.pid}`,
					epoch: 1, lease: 'none', since: startedAt,
				},
				jobs: out,
				services: { clock: 'ok', ingest: 'ok' },
			},
		};
	});

	app.post('/api/v1/scheduler/trigger/:job', async (req, reply) => {
		const job = req.params.job;
		if (!/^[A-Za-z0-9_-]{1,64}$/.test(job)) {
			return fail(reply, 400, `invalid job name '${job.slice(0, 64)}'`);
		}
		const at = new Date();
		let res;
		try {
			res = await pool.query(TRIGGER,
				[job, at, `${job}@${at.toISOString()}`]);
		} catch (e) {
			return fail(reply, 503, `postgres: ${e.message}`);
		}
		if (res.rowCount === 0) return fail(reply, 404, `unknown job '${job}'`);
		const f = res.rows[0];
		return {
			success: true,
			data: {
				job: f.job, service: f.service, fire_id: f.fire_id,
				scheduled_for: iso(f.scheduled_for), trigger: f.trigger,
			},
		};
	});

	await app.listen({ host, port: Number(port) });
}
