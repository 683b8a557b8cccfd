// bench.mjs - the peers of bench_cron (croner, cron-parser), measured the
// same way: parse once; a repetition starts at 2025-01-01T00:00:00Z and
// chains K next-fire calls, feeding each fire back in as the next "after";
// ns/op is the median over R repetitions of elapsed / K, timed with
// process.hrtime.bigint() (a monotonic clock). Untimed warm-up chains run
// first (two rounds over the whole set, then W chains of the expression
// about to be timed) so that V8 has compiled the hot paths before the clock
// starts.
//
// Usage:
//   node bench.mjs [--set FILE] [--check FILE] [--reps R] [--k K]
//                  [--warmup W]
//
//   --set FILE    the expression set as printed by `bench_cron --list`
//                 (default: the copy below, which mirrors bench_cron.c)
//   --check FILE  windows of our fires as printed by `bench_cron --fires`;
//                 every peer is asked for the same fires from the same
//                 start and a warning with both lists goes to stderr when
//                 they differ
//
// stdout is TSV: index, expr, tz, croner ns/op, cron-parser ns/op; "n/a"
// when the peer cannot parse the expression (or fails on the chain).

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Cron } from "croner";
import { CronExpressionParser } from "cron-parser";

const require = createRequire(import.meta.url);

const START_MS = Date.UTC(2025, 0, 1, 0, 0, 0); // 1735689600000
const DEFAULT_SET = [
	["*/15 * * * *", "UTC"],
	["0 2 * * *", "Europe/Berlin"],
	["0 3 * * 0", "UTC"],
	["0 4 1 * *", "UTC"],
	["0 8-20 * * *", "UTC"],
	["0 */6 * * *", "UTC"],
	["0 9 * * MON#1", "UTC"],
	["0 0 L * *", "UTC"],
	["*/20 * * * * *", "UTC"],
	["30 2 * * *", "Europe/Berlin"],
	["*/15 * * * *", "America/New_York"],
	["0 9 * * 1-5", "Asia/Kolkata"],
	["30 1 * * *", "America/New_York"],
	["0 */6 * * *", "Australia/Lord_Howe"],
	["0 9 * * MON#1", "America/Los_Angeles"],
	["0 0 L * *", "Australia/Sydney"],
];

function parseArgs(argv) {
	const o = { set: null, check: null, reps: 21, k: 1000, warmup: 5 };
	for (let i = 2; i < argv.length; i++) {
		const a = argv[i];
		const v = argv[i + 1];
		if (a === "--set") o.set = v;
		else if (a === "--check") o.check = v;
		else if (a === "--reps") o.reps = Number(v);
		else if (a === "--k") o.k = Number(v);
		else if (a === "--warmup") o.warmup = Number(v);
		else {
			console.error(`bench.mjs: unknown argument ${a}`);
			process.exit(2);
		}
		i++;
	}
	for (const n of ["reps", "k", "warmup"]) {
		if (!Number.isInteger(o[n]) || o[n] < 0 || (n !== "warmup" && o[n] < 1)) {
			console.error(`bench.mjs: bad --${n}`);
			process.exit(2);
		}
	}
	return o;
}

// TSV lines, "#" lines are comments.
function readTsv(file) {
	return readFileSync(file, "utf8")
		.split("\n")
		.filter((l) => l.length > 0 && !l.startsWith("#"))
		.map((l) => l.split("\t"));
}

// Each peer: make() parses once (and throws if it cannot), chain(h, from,
// n) returns the n fires after `from` (ms) as an array only when asked
// (collect), since building the array is not part of the measured cost.
const peers = [
	{
		name: "croner",
		version: require("croner/package.json").version,
		make(expr, tz) {
			return new Cron(expr, { timezone: tz, paused: true });
		},
		chain(job, fromMs, n, collect) {
			let prev = new Date(fromMs);
			const out = collect ? [] : null;
			for (let i = 0; i < n; i++) {
				prev = job.nextRun(prev);
				if (prev === null) throw new Error("no next run");
				if (out) out.push(prev.getTime());
			}
			return out ?? prev.getTime();
		},
	},
	{
		name: "cron-parser",
		version: require("cron-parser/package.json").version,
		make(expr, tz) {
			return CronExpressionParser.parse(expr, {
				currentDate: new Date(START_MS),
				tz,
			});
		},
		chain(it, fromMs, n, collect) {
			// reset() rewinds the iterator without parsing again; each
			// next() starts from the previous fire.
			it.reset(new Date(fromMs));
			const out = collect ? [] : null;
			let d = null;
			for (let i = 0; i < n; i++) {
				d = it.next();
				if (out) out.push(d.getTime());
			}
			return out ?? d.getTime();
		},
	},
];

let sink = 0;

function measure(peer, h, k, reps, warmup) {
	for (let w = 0; w < warmup; w++) sink ^= peer.chain(h, START_MS, k, false);
	const el = new Array(reps);
	for (let r = 0; r < reps; r++) {
		const t0 = process.hrtime.bigint();
		sink ^= peer.chain(h, START_MS, k, false);
		el[r] = Number(process.hrtime.bigint() - t0);
	}
	el.sort((a, b) => a - b);
	const med = reps % 2 ? el[(reps - 1) / 2] : (el[reps / 2 - 1] + el[reps / 2]) / 2;
	return med / k;
}

function fmt(ms, tz) {
	const local = new Date(ms).toLocaleString("sv-SE", { timeZone: tz });
	return `${new Date(ms).toISOString().replace(".000Z", "Z")} (${local.slice(11, 16)} local)`;
}

function check(set, handles, file) {
	let mismatches = 0;
	for (const [idx, expr, tz, startS, firesS] of readTsv(file)) {
		const i = Number(idx);
		if (!set[i] || set[i][0] !== expr || set[i][1] !== tz) {
			console.error(`bench.mjs: check line ${idx} (${expr}, ${tz}) is not in the set`);
			mismatches++;
			continue;
		}
		const start = Number(startS);
		const ours = firesS ? firesS.split(",").map(Number) : [];
		const window = start === START_MS ? "first fires" : "DST window";
		for (const peer of peers) {
			const h = handles[i][peer.name];
			if (h === null) continue;
			let theirs;
			try {
				theirs = peer.chain(h, start, ours.length, true);
			} catch (e) {
				theirs = [`error: ${e.message}`];
			}
			if (theirs.length === ours.length && theirs.every((v, j) => v === ours[j])) continue;
			mismatches++;
			const n = Math.max(ours.length, theirs.length);
			const lines = [];
			for (let j = 0; j < n; j++) {
				const a = j < ours.length ? fmt(ours[j], tz) : "-";
				const b = j < theirs.length ? (typeof theirs[j] === "number" ? fmt(theirs[j], tz) : theirs[j]) : "-";
				lines.push(`    ${a === b ? " " : "!"} ${a.padEnd(34)} ${b}`);
			}
			console.error(
				`WARNING: ${peer.name} disagrees on '${expr}' ${tz} (${window}, after ${new Date(start).toISOString()}):\n` +
					`      ${"cronfleet".padEnd(34)} ${peer.name}\n` +
					lines.join("\n"),
			);
		}
	}
	return mismatches;
}

const opt = parseArgs(process.argv);
const set = opt.set ? readTsv(opt.set).map(([, e, t]) => [e, t]) : DEFAULT_SET;

// Parse everything once; null marks an expression the peer rejects.
const handles = set.map(([expr, tz]) => {
	const h = {};
	for (const peer of peers) {
		try {
			h[peer.name] = peer.make(expr, tz);
			peer.chain(h[peer.name], START_MS, 1, false);
		} catch (e) {
			console.error(`note: ${peer.name} cannot handle '${expr}' ${tz}: ${e.message}`);
			h[peer.name] = null;
		}
	}
	return h;
});

if (opt.check) {
	const n = check(set, handles, opt.check);
	console.error(`agreement: ${n === 0 ? "all peers agree with cronfleet" : `${n} window(s) differ`}`);
}

// A global warm-up first: the first expression measured in a fresh process
// was up to 1.7x slower than the same expression measured later (V8 was
// still tiering up the peers' shared code), which would flatter cronfleet.
// Two rounds over the whole set, then the per-expression warm-up in
// measure().
for (let round = 0; round < 2; round++) {
	set.forEach((_, i) => {
		for (const peer of peers) {
			const h = handles[i][peer.name];
			if (h === null) continue;
			try {
				sink ^= peer.chain(h, START_MS, opt.k, false);
			} catch {
				// Reported when measured.
			}
		}
	});
}

console.log(`# node=${process.version} ${peers.map((p) => `${p.name}=${p.version}`).join(" ")} K=${opt.k} R=${opt.reps} warmup=${opt.warmup}`);
console.log(`# index\texpr\ttz\t${peers.map((p) => p.name).join("\t")}`);
set.forEach(([expr, tz], i) => {
	const cols = peers.map((peer) => {
		const h = handles[i][peer.name];
		if (h === null) return "n/a";
		try {
			return measure(peer, h, opt.k, opt.reps, opt.warmup).toFixed(2);
		} catch (e) {
			console.error(`note: ${peer.name} failed on the chain of '${expr}' ${tz}: ${e.message}`);
			return "n/a";
		}
	});
	console.log([i, expr, tz, ...cols].join("\t"));
});
if (sink === 0.5) console.error(""); // keeps sink observable
