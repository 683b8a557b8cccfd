/*
 * main.c - cronfleet, the command line for people.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: cronfleet <command> [arguments]\n"
    "\n"
    "commands:\n"
    "  cron next '<expr>' [--tz ZONE] [--from RFC3339] [--count N]\n"
    "            [--dst-gap shift|skip|at-transition]\n"
    "            [--dst-repeat auto|first|last|both]\n"
    "      print the next fires, one per line, in RFC 3339\n"
    "  cron explain '<expr>' [--tz ZONE] [--from RFC3339] [--count N]\n"
    "            [--dst-gap P] [--dst-repeat P]\n"
    "      describe the schedule in words and show its next fires\n"
    "  help | --help      this text\n"
    "  version | --version\n";

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
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(usage, stdout);
		return (CLI_OK);
	}
	if (strcmp(argv[1], "version") == 0 ||
	    strcmp(argv[1], "--version") == 0) {
		printf("cronfleet %s\n", CF_VERSION);
		return (CLI_OK);
	}
	if (strcmp(argv[1], "cron") == 0) {
		return (cli_cron(argc - 1, argv + 1));
	}
	return (cli_usage_error("unknown command '%s' (try cronfleet help)",
	    argv[1]));
}
