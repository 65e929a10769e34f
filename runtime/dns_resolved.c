/* dns_resolved.c - a link's DNS in systemd-resolved, over sd-bus (org.freedesktop.resolve1).
 *
 * Set: Manager.SetLinkDNS (a(iay)), SetLinkDomains (a(sb): a routing-only domain "~corp" goes as
 * ("corp", true), "~." as (".", true)), SetLinkDefaultRoute, then FlushCaches. Revert:
 * Manager.RevertLink. Read: Manager.GetLink(ifindex) gives the link's object, whose properties
 * DNS, Domains and DefaultRoute (org.freedesktop.resolve1.Link) become an st_dns.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "model/kind.h"
#include "model/xalloc.h"
#include "runtime/dns_backend.h"

#define RESOLVE_NAME "org.freedesktop.resolve1"
#define RESOLVE_PATH "/org/freedesktop/resolve1"
#define RESOLVE_MANAGER "org.freedesktop.resolve1.Manager"
#define RESOLVE_LINK "org.freedesktop.resolve1.Link"
#define BUS_TIMEOUT_USEC (10 * 1000 * 1000ull)

bool resolved_stub_target(const char *t)
{
	static const char *const files[] = { "/run/systemd/resolve/stub-resolv.conf", "/run/systemd/resolve/resolv.conf" };
	size_t n = strlen(t);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		/* Absolute, or relative ("../run/systemd/resolve/stub-resolv.conf"). */
		const char *tail = files[i] + 1;
		size_t m = strlen(tail);
		if (!strcmp(t, files[i]) || (n >= m && !strcmp(t + n - m, tail) && (n == m || t[n - m - 1] == '/')))
			return true;
	}
	return false;
}

bool resolved_stub_in_use(void)
{
	const char *path = "/etc/resolv.conf";
	char target[4096];
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = '\0';
		if (resolved_stub_target(target))
			return true;
	}
	/* A file (or a link elsewhere): resolved's if it names the stub listener. Only nameserver
	 * lines are looked at. */
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	char line[512], addr[64];
	bool stub = false;
	while (!stub && fgets(line, sizeof(line), f))
		stub = sscanf(line, " nameserver %63s", addr) == 1 && !strcmp(addr, "127.0.0.53");
	fclose(f);
	return stub;
}

int resolved_open(struct dns *d)
{
	sd_bus *bus = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	int has = 0;
	if (sd_bus_open_system(&bus) < 0)
		goto out;
	if (sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
			       "NameHasOwner", &e, &reply, "s", RESOLVE_NAME) < 0 ||
	    sd_bus_message_read(reply, "b", &has) < 0)
		has = 0;
out:
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	if (has > 0)
		d->bus = bus;
	else
		sd_bus_flush_close_unref(bus);
	return has > 0;
}

void resolved_close(struct dns *d)
{
	sd_bus_flush_close_unref(d->bus);
	d->bus = NULL;
}

static int bus_fail(char *err, size_t errlen, int rc, const sd_bus_error *e, const char *what, const char *dev)
{
	return dns_fail(err, errlen, rc < 0 ? rc : -EIO, "systemd-resolved: %s for %s: %s", what, dev,
			e && sd_bus_error_is_set(e) && e->message ? e->message : strerror(rc < 0 ? -rc : EIO));
}

static bool no_such_link(const sd_bus_error *e)
{
	return sd_bus_error_has_name(e, "org.freedesktop.resolve1.NoSuchLink");
}

/* ---- read ------------------------------------------------------------------------------------ */

static int read_servers(sd_bus_message *m, struct st_dns *o)
{
	int rc = sd_bus_message_enter_container(m, 'a', "(iay)");
	if (rc < 0)
		return rc;
	while ((rc = sd_bus_message_enter_container(m, 'r', "iay")) > 0) {
		int32_t family;
		const void *bytes;
		size_t len;
		if ((rc = sd_bus_message_read(m, "i", &family)) < 0 || (rc = sd_bus_message_read_array(m, 'y', &bytes, &len)) < 0)
			return rc;
		if ((rc = sd_bus_message_exit_container(m)) < 0)
			return rc;
		if (!((family == AF_INET && len == 4) || (family == AF_INET6 && len == 16)))
			continue;
		o->servers = xgrow(o->servers, o->n_servers, sizeof(*o->servers));
		struct ipaddr *a = &o->servers[o->n_servers++];
		*a = (struct ipaddr){ .family = (uint8_t)family, .len = family == AF_INET ? 32 : 128 };
		memcpy(a->bytes, bytes, len);
	}
	return rc < 0 ? rc : sd_bus_message_exit_container(m);
}

static int read_domains(sd_bus_message *m, struct st_dns *o)
{
	int rc = sd_bus_message_enter_container(m, 'a', "(sb)");
	if (rc < 0)
		return rc;
	const char *name;
	int route_only;
	while ((rc = sd_bus_message_read(m, "(sb)", &name, &route_only)) > 0) {
		o->domains = xgrow(o->domains, o->n_domains, sizeof(*o->domains));
		o->domains[o->n_domains++] = route_only ? xasprintf("~%s", name) : xstrdup(name);
	}
	return rc < 0 ? rc : sd_bus_message_exit_container(m);
}

/* The link's object path, or NULL (*rc 0: resolved does not know the link). */
static char *link_path(struct dns *d, int ifindex, const char *dev, int *rc, char *err, size_t errlen)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *p = NULL;
	char *path = NULL;
	*rc = sd_bus_call_method(d->bus, RESOLVE_NAME, RESOLVE_PATH, RESOLVE_MANAGER, "GetLink", &e, &reply, "i",
				 (int32_t)ifindex);
	if (*rc < 0 && no_such_link(&e))
		*rc = 0;
	else if (*rc < 0)
		bus_fail(err, errlen, *rc, &e, "reading the link", dev);
	else if ((*rc = sd_bus_message_read(reply, "o", &p)) < 0)
		bus_fail(err, errlen, *rc, NULL, "reading the link", dev);
	else
		path = xstrdup(p), *rc = 0;
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	return path;
}

static int get_prop(struct dns *d, const char *path, const char *prop, const char *type, sd_bus_message **reply,
		    const char *dev, char *err, size_t errlen)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int rc = sd_bus_get_property(d->bus, RESOLVE_NAME, path, RESOLVE_LINK, prop, &e, reply, type);
	if (rc < 0) {
		char what[64];
		snprintf(what, sizeof(what), "reading %s", prop);
		bus_fail(err, errlen, rc, &e, what, dev);
	}
	sd_bus_error_free(&e);
	return rc;
}

int resolved_read(struct dns *d, const char *dev, struct state *out, char *err, size_t errlen)
{
	unsigned ifindex = if_nametoindex(dev);
	if (!ifindex)
		return 0;
	int rc;
	char *path = link_path(d, (int)ifindex, dev, &rc, err, errlen);
	if (!path)
		return rc;
	struct st_dns o = { 0 };
	snprintf(o.dev, sizeof(o.dev), "%s", dev);
	sd_bus_message *m = NULL;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int def = 0;
	if ((rc = get_prop(d, path, "DNS", "a(iay)", &m, dev, err, errlen)) < 0)
		goto out;
	if ((rc = read_servers(m, &o)) < 0) {
		bus_fail(err, errlen, rc, NULL, "reading DNS", dev);
		goto out;
	}
	m = sd_bus_message_unref(m);
	if ((rc = get_prop(d, path, "Domains", "a(sb)", &m, dev, err, errlen)) < 0)
		goto out;
	if ((rc = read_domains(m, &o)) < 0) {
		bus_fail(err, errlen, rc, NULL, "reading Domains", dev);
		goto out;
	}
	if ((rc = sd_bus_get_property_trivial(d->bus, RESOLVE_NAME, path, RESOLVE_LINK, "DefaultRoute", &e, 'b', &def)) < 0) {
		bus_fail(err, errlen, rc, &e, "reading DefaultRoute", dev);
		goto out;
	}
	o.default_route = def > 0;
	rc = 0;
	/* A link resolved knows but was given nothing (it forgot, or never had it): no object. */
	if (o.n_servers || o.n_domains) {
		*(struct st_dns *)kind_add(out, KIND_DNS) = o;
		memset(&o, 0, sizeof(o));
	}
out:
	for (size_t i = 0; i < o.n_domains; i++)
		free(o.domains[i]);
	free(o.domains);
	free(o.servers);
	sd_bus_message_unref(m);
	sd_bus_error_free(&e);
	free(path);
	return rc;
}

/* ---- write ----------------------------------------------------------------------------------- */

static int call(struct dns *d, sd_bus_message *m, const char *what, const char *dev, char *err, size_t errlen)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int rc = sd_bus_call(d->bus, m, BUS_TIMEOUT_USEC, &e, NULL);
	if (rc < 0)
		bus_fail(err, errlen, rc, &e, what, dev);
	sd_bus_error_free(&e);
	return rc < 0 ? rc : 0;
}

static int set_dns(struct dns *d, int ifindex, const struct st_dns *o, char *err, size_t errlen)
{
	sd_bus_message *m = NULL;
	int rc = sd_bus_message_new_method_call(d->bus, &m, RESOLVE_NAME, RESOLVE_PATH, RESOLVE_MANAGER, "SetLinkDNS");
	if (rc >= 0)
		rc = sd_bus_message_append(m, "i", (int32_t)ifindex);
	if (rc >= 0)
		rc = sd_bus_message_open_container(m, 'a', "(iay)");
	for (size_t i = 0; rc >= 0 && i < o->n_servers; i++) {
		const struct ipaddr *a = &o->servers[i];
		if ((rc = sd_bus_message_open_container(m, 'r', "iay")) >= 0 &&
		    (rc = sd_bus_message_append(m, "i", (int32_t)a->family)) >= 0 &&
		    (rc = sd_bus_message_append_array(m, 'y', a->bytes, a->family == AF_INET ? 4 : 16)) >= 0)
			rc = sd_bus_message_close_container(m);
	}
	if (rc >= 0)
		rc = sd_bus_message_close_container(m);
	rc = rc < 0 ? bus_fail(err, errlen, rc, NULL, "SetLinkDNS", o->dev) : call(d, m, "SetLinkDNS", o->dev, err, errlen);
	sd_bus_message_unref(m);
	return rc;
}

static int set_domains(struct dns *d, int ifindex, const struct st_dns *o, char *err, size_t errlen)
{
	sd_bus_message *m = NULL;
	int rc = sd_bus_message_new_method_call(d->bus, &m, RESOLVE_NAME, RESOLVE_PATH, RESOLVE_MANAGER, "SetLinkDomains");
	if (rc >= 0)
		rc = sd_bus_message_append(m, "i", (int32_t)ifindex);
	if (rc >= 0)
		rc = sd_bus_message_open_container(m, 'a', "(sb)");
	for (size_t i = 0; rc >= 0 && i < o->n_domains; i++) {
		const char *name = o->domains[i];
		bool route_only = name[0] == '~';
		rc = sd_bus_message_append(m, "(sb)", route_only ? name + 1 : name, (int)route_only);
	}
	if (rc >= 0)
		rc = sd_bus_message_close_container(m);
	rc = rc < 0 ? bus_fail(err, errlen, rc, NULL, "SetLinkDomains", o->dev) :
		      call(d, m, "SetLinkDomains", o->dev, err, errlen);
	sd_bus_message_unref(m);
	return rc;
}

static int manager_call(struct dns *d, const char *method, const char *dev, char *err, size_t errlen,
			const char *types, int32_t ifindex, int arg)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int rc = types ? sd_bus_call_method(d->bus, RESOLVE_NAME, RESOLVE_PATH, RESOLVE_MANAGER, method, &e, NULL, types,
					    ifindex, arg) :
			 sd_bus_call_method(d->bus, RESOLVE_NAME, RESOLVE_PATH, RESOLVE_MANAGER, method, &e, NULL, NULL);
	if (rc < 0 && !no_such_link(&e))
		bus_fail(err, errlen, rc, &e, method, dev);
	else if (rc < 0)
		rc = -ENODEV;
	sd_bus_error_free(&e);
	return rc < 0 ? rc : 0;
}

int resolved_set(struct dns *d, const struct st_dns *o, char *err, size_t errlen)
{
	unsigned ifindex = if_nametoindex(o->dev);
	if (!ifindex)
		return dns_fail(err, errlen, -ENODEV, "systemd-resolved: link %s does not exist", o->dev);
	int rc = set_dns(d, (int)ifindex, o, err, errlen);
	if (!rc)
		rc = set_domains(d, (int)ifindex, o, err, errlen);
	if (!rc)
		rc = manager_call(d, "SetLinkDefaultRoute", o->dev, err, errlen, "ib", (int32_t)ifindex, o->default_route);
	if (rc == -ENODEV)
		return dns_fail(err, errlen, rc, "systemd-resolved does not know link %s", o->dev);
	/* Answers cached from the servers used before must not outlive the change. */
	if (!rc)
		rc = manager_call(d, "FlushCaches", o->dev, err, errlen, NULL, 0, 0);
	return rc;
}

int resolved_revert(struct dns *d, const char *dev, char *err, size_t errlen)
{
	unsigned ifindex = if_nametoindex(dev);
	if (!ifindex)
		return 0; /* resolved forgets a link that is gone */
	int rc = manager_call(d, "RevertLink", dev, err, errlen, "i", (int32_t)ifindex, 0);
	if (rc == -ENODEV)
		return 0;
	return rc ? rc : manager_call(d, "FlushCaches", dev, err, errlen, NULL, 0, 0);
}
