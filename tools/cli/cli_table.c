/*
 * cli_table.c - aligned columns for people.
 *
 * Rows are kept until print, since a column is as wide as its widest
 * cell. Widths count characters, not bytes (a job description may hold
 * UTF-8), and the last column is not padded, so no line ends in blanks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_http.h"

#define TABLE_MAX_COLS 16

struct cli_table {
	size_t ncols;
	size_t max[TABLE_MAX_COLS];   /* cut longer cells; 0: no limit */
	size_t width[TABLE_MAX_COLS]; /* in characters */
	char **cells;                 /* nrows * ncols, row-major */
	size_t nrows, cap;            /* rows, the header included */
};

/* Characters in a UTF-8 string (continuation bytes not counted). */
static size_t
table_chars(const char *s)
{
	size_t n = 0;
	for (; *s != '\0'; s++) {
		if (((unsigned char) *s & 0xC0) != 0x80) {
			n++;
		}
	}
	return (n);
}

/* A copy of s on one line, cut to max characters with "..." (0: whole). */
static char *
table_copy(const char *s, size_t max)
{
	size_t n = strlen(s), chars = 0, j = 0;
	char  *d = malloc(n + 4);

	if (d == NULL) {
		return (NULL);
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char) s[i];
		if ((c & 0xC0) != 0x80) {
			if (max > 3 && chars == max - 3
			    && table_chars(s + i) > 3) {
				memcpy(d + j, "...", 3);
				j += 3;
				break;
			}
			chars++;
		}
		d[j++] = (c < 0x20 || c == 0x7f) ? ' ' : (char) c;
	}
	d[j] = '\0';
	return (d);
}

static int
table_add(cli_table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **c   = realloc(t->cells, cap * t->ncols * sizeof(*c));
		if (c == NULL) {
			return (-1);
		}
		t->cells = c;
		t->cap   = cap;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		const char *s
		    = cells[i] != NULL && cells[i][0] != '\0' ? cells[i] : "-";
		char *d = table_copy(s, t->nrows == 0 ? 0 : t->max[i]);
		if (d == NULL) {
			for (size_t k = 0; k < i; k++) {
				free(t->cells[t->nrows * t->ncols + k]);
			}
			return (-1);
		}
		t->cells[t->nrows * t->ncols + i] = d;
	}
	t->nrows++;
	return (0);
}

cli_table *
cli_table_new(size_t ncols, const char *const *headers)
{
	cli_table *t;

	if (ncols == 0 || ncols > TABLE_MAX_COLS
	    || (t = calloc(1, sizeof(*t))) == NULL) {
		return (NULL);
	}
	t->ncols = ncols;
	if (table_add(t, headers) != 0) {
		free(t);
		return (NULL);
	}
	return (t);
}

void
cli_table_limit(cli_table *t, size_t col, size_t max)
{
	if (t != NULL && col < t->ncols) {
		t->max[col] = max;
	}
}

int
cli_table_row(cli_table *t, const char *const *cells)
{
	return (t == NULL ? -1 : table_add(t, cells));
}

void
cli_table_free(cli_table *t)
{
	if (t == NULL) {
		return;
	}
	for (size_t i = 0; i < t->nrows * t->ncols; i++) {
		free(t->cells[i]);
	}
	free(t->cells);
	free(t);
}

void
cli_table_print(cli_table *t, FILE *f)
{
	if (t == NULL) {
		return;
	}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			size_t w = table_chars(t->cells[r * t->ncols + c]);
			if (w > t->width[c]) {
				t->width[c] = w;
			}
		}
	}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			fputs(s, f);
			if (c + 1 < t->ncols) {
				size_t pad = t->width[c] - table_chars(s) + 2;
				fprintf(f, "%*s", (int) pad, "");
			}
		}
		fputc('\n', f);
	}
	cli_table_free(t);
}
