/*
 * cli.h - the cronfleet command line: shared exit codes and entry points.
 */
#ifndef CF_CLI_H
#define CF_CLI_H

/*
 * Exit statuses: 0 done; 1 a failure (the gateway refused or failed the
 * request, and said why); 2 invalid input (usage); 3 the gateway could
 * not be reached (connection refused, no answer in time, stream lost).
 * Scripts tell "try again later" (3) from "this will not work" (1, 2).
 */
#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2
#define CLI_UNREACHABLE 3

/* "cronfleet cron ...": argv[0] is "cron". */
int cli_cron(int argc, char **argv);

/*
 * The commands over the gateway's REST API (cmd_api.c, cmd_watch.c):
 * argv[0] is the command's name ("jobs", "status", ...). Each returns
 * one of the exit statuses above.
 */
int cli_api(int argc, char **argv);

/* 1 if name is one of cli_api's commands. */
int cli_api_has(const char *name);

/*
 * What ingest syncs from and what it has synced (cmd_ingest.c): argv[0]
 * is "orgs", "sources", "vendors", "stores", "agents", "ingest" or
 * "apply". Returns one of the exit statuses above.
 */
int cli_ingest(int argc, char **argv);

/* 1 if name is one of cli_ingest's commands. */
int cli_ingest_has(const char *name);

/* Prints a one-line message on stderr and returns CLI_USAGE. */
int cli_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif /* CF_CLI_H */
