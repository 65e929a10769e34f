/* networkd.c - whether systemd-networkd will delete wgc's rules and routes (see networkd.h). */
#include "runtime/networkd.h"

#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/xalloc.h"

/* The folders systemd reads configuration from, the first the most important. */
static const char *const conf_dirs[] = { "/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd" };
#define N_DIRS (sizeof(conf_dirs) / sizeof(conf_dirs[0]))

struct settings {
	bool rules, routes;            /* ManageForeignRoutingPolicyRules=, ManageForeignRoutes= */
	char rules_from[512], routes_from[512]; /* the file that set each last ("" = the default) */
};

/* /proc/PID/comm holds the first 15 bytes of the executable's name. */
static bool process_running(const char *comm)
{
	DIR *d = opendir("/proc");
	if (!d)
		return false;
	bool found = false;
	struct dirent *e;
	while (!found && (e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		char path[300], name[32] = "";
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(name, sizeof(name), f))
			name[strcspn(name, "\n")] = '\0';
		fclose(f);
		found = !strcmp(name, comm);
	}
	closedir(d);
	return found;
}

static bool networkd_running(void)
{
	return !access("/run/systemd/netif", F_OK) && process_running("systemd-network");
}

/* systemd's parse_boolean(): 1, 0, or -1 for a word it does not take (the setting is ignored). */
static int parse_bool(const char *v)
{
	static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
	static const char *const no[] = { "0", "no", "n", "false", "f", "off" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(v, yes[i]))
			return 1;
		if (!strcasecmp(v, no[i]))
			return 0;
	}
	return -1;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static void set(bool *flag, char *from, size_t len, const char *value, const char *path)
{
	/* An empty assignment puts the default back. */
	int b = *value ? parse_bool(value) : 1;
	if (b < 0)
		return;
	*flag = b;
	snprintf(from, len, "%s", *value ? path : "");
}

/* Only the two settings of [Network] are read; nothing of the file is printed but its path. */
static void parse_file(const char *path, struct settings *s)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	char *line = NULL;
	size_t cap = 0;
	bool network = false;
	while (getline(&line, &cap, f) > 0) {
		char *l = trim(line);
		if (*l == '#' || *l == ';' || !*l)
			continue;
		if (*l == '[') {
			network = !strcmp(l, "[Network]");
			continue;
		}
		char *eq = strchr(l, '=');
		if (!network || !eq)
			continue;
		*eq = '\0';
		const char *key = trim(l), *value = trim(eq + 1);
		if (!strcmp(key, "ManageForeignRoutingPolicyRules"))
			set(&s->rules, s->rules_from, sizeof(s->rules_from), value, path);
		else if (!strcmp(key, "ManageForeignRoutes"))
			set(&s->routes, s->routes_from, sizeof(s->routes_from), value, path);
	}
	free(line);
	fclose(f);
}

struct dropin {
	char *name, *path;
};

static int dropin_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dropin *)a)->name, ((const struct dropin *)b)->name);
}

static void read_settings(struct settings *s)
{
	*s = (struct settings){ .rules = true, .routes = true };
	char path[512];
	for (size_t i = 0; i < N_DIRS; i++) {
		snprintf(path, sizeof(path), "%s/networkd.conf", conf_dirs[i]);
		if (!access(path, F_OK)) {
			parse_file(path, s);
			break;
		}
	}
	struct dropin *v = NULL;
	size_t n = 0;
	for (size_t i = 0; i < N_DIRS; i++) {
		snprintf(path, sizeof(path), "%s/networkd.conf.d", conf_dirs[i]);
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			size_t len = strlen(e->d_name);
			if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".conf"))
				continue;
			bool hidden = false;
			for (size_t k = 0; k < n && !hidden; k++)
				hidden = !strcmp(v[k].name, e->d_name);
			if (hidden)
				continue;
			v = xgrow(v, n, sizeof(*v));
			v[n].name = xstrdup(e->d_name);
			v[n].path = xmalloc(strlen(path) + len + 2);
			sprintf(v[n].path, "%s/%s", path, e->d_name);
			n++;
		}
		if (d)
			closedir(d);
	}
	if (n)
		qsort(v, n, sizeof(*v), dropin_cmp);
	for (size_t i = 0; i < n; i++) {
		parse_file(v[i].path, s);
		free(v[i].name);
		free(v[i].path);
	}
	free(v);
}

int networkd_warnings(const struct state *d, FILE *out)
{
	bool rules = false, routes = false;
	for (size_t i = 0; i < d->n_rules; i++)
		rules |= d->rules[i].protocol == WGC_RTPROT;
	for (size_t i = 0; i < d->n_routes; i++)
		routes |= d->routes[i].protocol == WGC_RTPROT;
	if (!(rules || routes) || !networkd_running())
		return 0;
	struct settings s;
	read_settings(&s);
	char what[1200] = "";
	if (rules && s.rules)
		snprintf(what, sizeof(what), "ManageForeignRoutingPolicyRules=yes%s%s", s.rules_from[0] ? " in " : " (its default)",
			 s.rules_from);
	if (routes && s.routes)
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "%sManageForeignRoutes=yes%s%s",
			 what[0] ? " and " : "", s.routes_from[0] ? " in " : " (its default)", s.routes_from);
	if (!what[0])
		return 0;
	fprintf(out, "wgc: warning: systemd-networkd runs with %s: it deletes wgc's %s when it next reconfigures a "
		"link; install %s ([Network] ManageForeignRoutingPolicyRules=no, ManageForeignRoutes=no) and "
		"restart it, or run `wgc watch` to put them back\n",
		what, rules && s.rules && routes && s.routes ? "ip rules and routes" : rules && s.rules ? "ip rules" : "routes",
		NETWORKD_DROPIN);
	return 1;
}
