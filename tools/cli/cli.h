/*
 * cli.h - the cronfleet command line: shared exit codes and entry points.
 */
#ifndef CF_CLI_H
#define CF_CLI_H

/* Exit statuses: 0 done, 1 a failure, 2 invalid input (usage). */
#define CLI_OK 0
#define CLI_FAIL 1
#define CLI_USAGE 2

/* "cronfleet cron ...": argv[0] is "cron". */
int cli_cron(int argc, char **argv);

/* Prints a one-line message on stderr and returns CLI_USAGE. */
int cli_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif /* CF_CLI_H */
