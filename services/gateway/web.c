/*
 * web.c - the dashboard's files and the OpenAPI document.
 *
 * Both are built into the binary (web.cmake turns services/gateway/web/
 * and openapi.json into C arrays), so the gateway serves them without a
 * file system lookup, a CDN or a build step. Only names that are files
 * of web/ are served: a name is looked up in the table, never joined to
 * a path, so "../" cannot reach anything else.
 *
 * The files are public: the page holds no data. It asks for a token and
 * calls the API with it, which is where the roles are checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

#ifdef CF_GW_WEB
#include "gw_web_files.h"
#endif

/* What a browser is told a file is, by its extension. */
static const struct {
	const char *ext;
	const char *type;
} web_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".json", "application/json" },
};

static const char *
web_type(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(web_types) / sizeof(web_types[0]); i++) {
		size_t e = strlen(web_types[i].ext);
		if (n > e && strcmp(name + n - e, web_types[i].ext) == 0) {
			return (web_types[i].type);
		}
	}
	return ("application/octet-stream");
}

/*
 * 1 if name may be an asset's name: 1 to 64 of [A-Za-z0-9_.-], not
 * starting with a dot (no "..", no hidden files).
 */
static int
web_name_valid(const char *name)
{
	size_t i;

	if (name[0] == '\0' || name[0] == '.') {
		return (0);
	}
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];
		if (i >= 64
		    || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		        || (c >= '0' && c <= '9') || c == '_' || c == '.'
		        || c == '-')) {
			return (0);
		}
	}
	return (1);
}

/*
 * Answers the built-in file path ("web/app.js") with its type, or 404.
 * The body is a copy: the reply's body is freed after sending.
 */
static void
web_send(gw_reply *out, const char *path, const char *cache)
{
#ifdef CF_GW_WEB
	for (const gw_web_file *f = gw_web_files; f->name != NULL; f++) {
		if (strcmp(f->name, path) != 0) {
			continue;
		}
		if ((out->body = malloc(f->len + 1)) == NULL) {
			out->status = 500;
			return;
		}
		memcpy(out->body, f->data, f->len + 1);
		out->body_len     = f->len;
		out->status       = 200;
		out->content_type = web_type(f->name);
		out->cache        = cache;
		return;
	}
#else
	(void) cache;
#endif
	gw_reply_error(out, 404, "not found: %s", path);
}

void
gw_route_web(gw_app *app, const gw_request *rq, gw_reply *out)
{
	char path[80], safe[80];

	(void) app;
	/*
	 * "no-cache" (revalidate every time) rather than a lifetime: the
	 * files carry no version in their names, and a page left open
	 * across an upgrade must not keep an old app.js with a new API.
	 */
	if (rq->param == NULL || rq->param[0] == '\0') {
		web_send(out, "web/index.html", "no-cache");
		return;
	}
	if (!web_name_valid(rq->param)) {
		gw_reply_error(out, 404, "no such file: '%s'",
		    gw_echo_safe(safe, sizeof(safe), rq->param));
		return;
	}
	snprintf(path, sizeof(path), "web/%s", rq->param);
	web_send(out, path, "no-cache");
}

void
gw_route_openapi(gw_app *app, const gw_request *rq, gw_reply *out)
{
	(void) app;
	(void) rq;
	web_send(out, "openapi.json", "no-cache");
}
