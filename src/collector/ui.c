/*-------------------------------------------------------------------------
 *
 * ui.c
 *	  The web UI at / : its files (ui/ and uPlot's, from npm at build time)
 *	  are embedded in the binary by scripts/embed.sh, so the collector stays
 *	  one file that needs nothing installed beside it and cannot serve a UI
 *	  of another version. / is index.html, /ui/NAME the others.
 *
 * src/collector/ui.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <string.h>

#include "request.h"
#include "ui.h"

typedef struct Asset
{
	const char *name;
	const char *data;
	uint64_t	size;
} Asset;

/* scripts/embed.sh */
extern const Asset ui_assets[];
extern const int ui_n_assets;

static const char *
content_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot && strcmp(dot, ".html") == 0)
		return "text/html; charset=utf-8";
	if (dot && strcmp(dot, ".js") == 0)
		return "text/javascript; charset=utf-8";
	if (dot && strcmp(dot, ".css") == 0)
		return "text/css; charset=utf-8";
	if (dot && strcmp(dot, ".svg") == 0)
		return "image/svg+xml";
	return "application/octet-stream";
}

void
ui_serve(const Request *req, Reply *reply)
{
	const char *name = strcmp(req->path, "/") == 0 || strcmp(req->path, "/ui/") == 0 ? "index.html"
		: req->path + strlen("/ui/");

	for (int i = 0; i < ui_n_assets; i++)
	{
		if (strcmp(ui_assets[i].name, name) == 0)
		{
			reply->status = 200;
			reply->content_type = content_type(name);
			reply->static_data = ui_assets[i].data;
			reply->static_len = (size_t) ui_assets[i].size;
			/* revalidated each time: a new collector brings new files under the same names */
			reply->cache_control = "no-cache";
			if (strcmp(name, "index.html") == 0)
				reply->csp = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
					"frame-ancestors 'none'";
			return;
		}
	}
	reply_error(reply, 404, "no such file: %s", req->path);
}
