/*
 * main.c - cronfleet, the command line for people.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* The text as it prints, not reflowed. */
/* clang-format off */
static const char usage[] =
    "usage: cronfleet <command> [arguments]\n"
    "\n"
    "the scheduler, through the gateway's REST API:\n"
    "  jobs                     every job: schedule, zone, state, next fire\n"
    "  status                   the scheduler, leader, services, last runs\n"
    "  next [job] [--count N]   the next fires, with DST marks\n"
    "  trigger <job> [--wait [--timeout S]]\n"
    "                           fire the job now (admin); --wait: until\n"
    "                           its run ends (exit 0 if it succeeded)\n"
    "  pause <job>              (admin)\n"
    "  resume <job>             (admin)\n"
    "  schedule <job> '<expr>' [--tz ZONE]\n"
    "                           change the job's schedule (admin)\n"
    "  history [job] [--status S] [--since RFC3339|90m|2h|1d]\n"
    "          [--limit N] [--before CURSOR]\n"
    "                           runs, newest first\n"
    "  audit [--limit N] [--actor A] [--action A] [--job J]\n"
    "        [--before CURSOR]\n"
    "                           manual actions taken, newest first\n"
    "  watch [--job J] [--service S] [--count N]\n"
    "                           run events as they happen (until ^C,\n"
    "                           or until N events)\n"
    "  whoami                   the token's name and role\n"
    "  Each takes --json: the server's answer as one JSON document\n"
    "  ({\"success\":true,\"data\":...}); watch: one JSON object a line.\n"    "\n"
    "what ingest syncs from (organizations, energy sources, plant vendors,\n"
    "stores, agents), through the gateway:\n"
    "  orgs|sources|vendors|stores|agents [list] [--org O]\n"
    "                           the items (sources...: of one organization)\n"
    "  <kind> show <id>         one item\n"
    "  <kind> add '<json>'      create, or update by (org, name) (admin)\n"
    "  <kind> set <id> '<json>' change the fields given (admin)\n"
    "  <kind> rm <id>           delete it and its data (admin)\n"
    "  apply <file.json>        make the gateway hold what the file declares:\n"
    "                           {\"organizations\":[...],\"sources\":[...],\n"
    "                           \"vendors\":[...],\"stores\":[...],\"agents\":[...]};\n"
    "                           one line per item: created, updated,\n"
    "                           unchanged or failed (admin)\n"
    "  ingest summary           rows per table, each source's newest data,\n"
    "                           each vendor's and store's last sync\n"
    "  ingest measurements|plants|orders|carbon [--source ID] [--metric M]\n"
    "         [--vendor ID] [--org O] [--store ID] [--status S] [--region R]\n"
    "         [--since T] [--until T] [--limit N] [--before CURSOR]\n"
    "                           the synced data, newest first\n"
    "  Each takes --json too.\n"
    "\n"
    "the cron engine, offline:\n"
    "  cron next '<expr>' [--tz ZONE] [--from RFC3339] [--count N]\n"
    "            [--dst-gap shift|skip|at-transition]\n"
    "            [--dst-repeat auto|first|last|both]\n"
    "      print the next fires, one per line, in RFC 3339\n"
    "  cron explain '<expr>' [--tz ZONE] [--from RFC3339] [--count N]\n"
    "            [--dst-gap P] [--dst-repeat P]\n"
    "      describe the schedule in words and show its next fires\n"
    "  help | --help      this text\n"
    "  version | --version\n"
    "\n"
    "environment:\n"
    "  CRONFLEET_URL    the gateway (default http://127.0.0.1:8080)\n"
    "  CRONFLEET_TOKEN  an admin or viewer token (sent as a bearer token)\n"
    "\n"
    "exit status: 0 done; 1 the gateway refused or failed the request (its\n"
    "message on stderr); 2 invalid arguments; 3 the gateway cannot be\n"
    "reached, or the event stream was lost for good\n";
/* clang-format on */

int
cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("cronfleet: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return (CLI_USAGE);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return (CLI_USAGE);
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0
	    || strcmp(argv[1], "-h") == 0) {
		fputs(usage, stdout);
		return (CLI_OK);
	}
	if (strcmp(argv[1], "version") == 0
	    || strcmp(argv[1], "--version") == 0) {
		printf("cronfleet %s\n", CF_VERSION);
		return (CLI_OK);
	}
	if (strcmp(argv[1], "cron") == 0) {
		return (cli_cron(argc - 1, argv + 1));
	}
	if (cli_api_has(argv[1])) {
		return (cli_api(argc - 1, argv + 1));
	}
	if (cli_ingest_has(argv[1])) {
		return (cli_ingest(argc - 1, argv + 1));
	}
	return (cli_usage_error(
	    "unknown command '%s' (try cronfleet help)", argv[1]));
}
