// seed.mjs - SQL that gives the Fastify peer the same jobs as cronfleet.
//
// Reads the gateway's GET /api/v1/scheduler/status answer on stdin and
// prints INSERTs into <schema>.jobs (argv[2]) with each job's service,
// schedule, zone, flags, next fire and policies, so both servers answer
// about the very same jobs.
import { readFileSync } from 'node:fs';

const schema = process.argv[2] || 'fastify_bench';
const status = JSON.parse(readFileSync(0, 'utf8'));
if (!status.success || !Array.isArray(status.data?.jobs)) {
	console.error('seed.mjs: not a status answer');
	process.exit(1);
}
const lit = (v) =>
	v == null ? 'NULL'
		: typeof v === 'string' ? `'${v.replaceAll("'", "''")}'`
			: String(v);
for (const j of status.data.jobs) {
	const cols = {
		job: j.job, service: j.service, schedule: j.schedule, tz: j.tz,
		enabled: j.enabled, paused: j.paused, next_fire: j.next_fire,
		misfire: j.misfire, catchup_window_ms: j.catchup_window_ms,
		overlap: j.overlap, timeout_ms: j.timeout_ms, priority: j.priority,
		retries: j.retries, after_job: j.after, dst_gap: j.dst_gap,
		dst_repeat: j.dst_repeat,
	};
	const names = Object.keys(cols).filter((k) => cols[k] !== undefined);
	console.log(`INSERT INTO "${schema}".jobs (${names.join(', ')}) VALUES `
		+ `(${names.map((k) => lit(cols[k])).join(', ')});`);
}
