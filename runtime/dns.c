/* dns.c - the choice of DNS backend, and the calls handed to it (see dns.h). */
#include "runtime/dns.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/xalloc.h"
#include "runtime/dns_backend.h"

int dns_fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

int dns_open(struct dns *d, const char *what, char *err, size_t errlen)
{
	memset(d, 0, sizeof(*d));
	bool stub = resolved_stub_in_use();
	if (stub && resolved_open(d) > 0) {
		d->backend = DNS_RESOLVED;
		return 0;
	}
	if (resolvconf_find(d) > 0) {
		d->backend = DNS_RESOLVCONF;
		return 0;
	}
	return dns_fail(err, errlen, -ENOTSUP,
			"%s, but this host has no DNS manager wgc can hand it to: %s, and no `resolvconf` program is "
			"in PATH (install systemd-resolved or resolvconf; wgc never rewrites /etc/resolv.conf itself)",
			what, stub ? "/etc/resolv.conf is systemd-resolved's stub, but org.freedesktop.resolve1 is not on "
				     "the system bus" :
				     "systemd-resolved is not in use (/etc/resolv.conf is not its stub)");
}

void dns_close(struct dns *d)
{
	if (d->backend == DNS_RESOLVED)
		resolved_close(d);
	d->backend = DNS_NONE;
}

const char *dns_backend_name(const struct dns *d)
{
	return d->backend == DNS_RESOLVED ? "systemd-resolved" : d->backend == DNS_RESOLVCONF ? "resolvconf" : "none";
}

/* resolvconf holds servers and search domains, nothing else. */
static void project_resolvconf(struct st_dns *o)
{
	size_t k = 0;
	for (size_t i = 0; i < o->n_domains; i++) {
		if (o->domains[i][0] == '~')
			free(o->domains[i]);
		else
			o->domains[k++] = o->domains[i];
	}
	o->n_domains = k;
	o->default_route = false;
}

static void dns_free_one(struct st_dns *o)
{
	for (size_t i = 0; i < o->n_domains; i++)
		free(o->domains[i]);
	free(o->domains);
	free(o->servers);
}

void dns_project(const struct dns *d, struct state *s)
{
	if (d->backend != DNS_RESOLVCONF)
		return;
	size_t k = 0;
	for (size_t i = 0; i < s->n_dns; i++) {
		project_resolvconf(&s->dns[i]);
		if (!s->dns[i].n_servers && !s->dns[i].n_domains)
			dns_free_one(&s->dns[i]);
		else
			s->dns[k++] = s->dns[i];
	}
	s->n_dns = k;
}

int dns_read(struct dns *d, const char *dev, struct state *out, char *err, size_t errlen)
{
	switch (d->backend) {
	case DNS_RESOLVED: return resolved_read(d, dev, out, err, errlen);
	case DNS_RESOLVCONF: return resolvconf_read(d, dev, out, err, errlen);
	default: return 0;
	}
}

/* Write-ahead: the link is recorded before its resolvers change. */
int dns_set(struct dns *d, const struct st_dns *o, char *err, size_t errlen)
{
	int rc = dns_record_set(o->dev, dns_backend_name(d), true);
	if (rc)
		return dns_fail(err, errlen, rc, "cannot record it before changing it: %s", strerror(-rc));
	switch (d->backend) {
	case DNS_RESOLVED: return resolved_set(d, o, err, errlen);
	case DNS_RESOLVCONF: return resolvconf_set(d, o, err, errlen);
	default: return dns_fail(err, errlen, -ENOTSUP, "no DNS manager on this host");
	}
}

int dns_revert(struct dns *d, const char *dev, char *err, size_t errlen)
{
	int rc;
	switch (d->backend) {
	case DNS_RESOLVED: rc = resolved_revert(d, dev, err, errlen); break;
	case DNS_RESOLVCONF: rc = resolvconf_revert(d, dev, err, errlen); break;
	default: return dns_fail(err, errlen, -ENOTSUP, "no DNS manager on this host");
	}
	if (!rc && (rc = dns_record_set(dev, NULL, false)))
		dns_fail(err, errlen, rc, "taken back, but its record could not be updated: %s", strerror(-rc));
	return rc;
}

/* ---- observe: the links the policy gives resolvers, and those wgc gave some before ---------- */

struct devs {
	char (*name)[WGC_IFNAMSIZ];
	size_t n;
};

static int add_dev(const char *dev, void *arg)
{
	struct devs *v = arg;
	if (strlen(dev) >= WGC_IFNAMSIZ)
		return 0;
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->name[i], dev))
			return 0;
	v->name = xgrow(v->name, v->n, sizeof(*v->name));
	snprintf(v->name[v->n++], WGC_IFNAMSIZ, "%s", dev);
	return 0;
}

int dns_observe(const struct state *desired, struct state *out, char *err, size_t errlen)
{
	struct devs v = { 0 };
	struct dns d;
	int rc = 0;
	for (size_t i = 0; i < desired->n_dns; i++)
		add_dev(desired->dns[i].dev, &v);
	dns_record_each(add_dev, &v);
	if (!v.n)
		return 0; /* nothing of DNS to read: no backend is looked for */
	char what[64];
	snprintf(what, sizeof(what), "tunnel %s sets dns", v.name[0]);
	if (dns_open(&d, what, err, errlen)) {
		/* Only records (the policy sets no DNS): without a backend, nothing can be read. */
		rc = desired->n_dns ? -ENOTSUP : 0;
		if (!rc)
			err[0] = '\0';
		goto out;
	}
	for (size_t i = 0; i < v.n && !rc; i++)
		rc = dns_read(&d, v.name[i], out, err, errlen);
	dns_close(&d);
out:
	free(v.name);
	return rc;
}

int dns_prepare(struct state *desired, char *err, size_t errlen)
{
	if (!desired->n_dns)
		return 0;
	struct dns d;
	char what[64];
	snprintf(what, sizeof(what), "tunnel %s sets dns", desired->dns[0].dev);
	int rc = dns_open(&d, what, err, errlen);
	if (rc)
		return rc;
	dns_project(&d, desired);
	dns_close(&d);
	return 0;
}
