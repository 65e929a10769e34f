/* apply.c - the executors and the rollback journal (see apply.h). */
#include "runtime/apply.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include "model/xalloc.h"
#include "runtime/dns.h"
#include "runtime/killpoint.h"
#include "runtime/kinds.h"
#include "runtime/nft.h"
#include "runtime/nl.h"
#include "runtime/rtnl.h"
#include "runtime/timing.h"
#include "runtime/sysctl.h"
#include "runtime/wg.h"

struct exec {
	struct nl nl;
	bool nl_open;
	struct nft nft;
	char *nft_saved;               /* the table before this apply changed it (rollback) */
	const char *nft_before;        /* plan.h: its text, known from the record, or NULL */
	struct dns dns;                /* the DNS backend, chosen at the first DNS operation */
	bool dns_open;
	int nft_saved_present;
	const struct op **done;        /* completed operations, in order */
	size_t n_done;
	char *err;
	size_t errlen;
	long fault_at;                 /* test builds: fail after this many operations (-1: never) */
	long fault_undo;               /* test builds: refuse this rtnetlink inverse of the rollback (-1: none) */
	long undo_queued;              /* rtnetlink inverses queued by the rollback so far */
};

static const char *lock_path(void)
{
	const char *path = getenv("WGC_LOCK_FILE");
	return path && *path ? path : WGC_LOCK_PATH;
}

/* The count in the lock file: 1 with *count, 0 if the file holds none (empty, or not a count). */
static int lock_count_read(int fd, uint64_t *count)
{
	char buf[LOCK_COUNT_LEN + 1];
	ssize_t n = pread(fd, buf, LOCK_COUNT_LEN, 0);
	if (n != LOCK_COUNT_LEN || buf[LOCK_COUNT_LEN - 1] != '\n')
		return 0;
	buf[LOCK_COUNT_LEN - 1] = '\0';
	char *end;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno || *end)
		return 0;
	*count = v;
	return 1;
}

int apply_lock_counted(uint64_t *before, char *err, size_t errlen)
{
	const char *path = lock_path();
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open lock %s: %s", path, strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX) < 0) {
		int e = errno;
		close(fd);
		snprintf(err, errlen, "cannot lock %s: %s", path, strerror(e));
		return -e;
	}
	/* Counted before anything is written. A count that cannot be written is taken away, so no
	 * reader ahead of the lock (apply_lock_peek) trusts what it read before it. */
	uint64_t n = 0;
	int have = lock_count_read(fd, &n);
	if (before)
		*before = have ? n : UINT64_MAX;
	char buf[LOCK_COUNT_LEN + 1];
	snprintf(buf, sizeof(buf), "%0*llu\n", LOCK_COUNT_LEN - 1, (unsigned long long)(have ? n + 1 : 1));
	if (pwrite(fd, buf, LOCK_COUNT_LEN, 0) != LOCK_COUNT_LEN && ftruncate(fd, 0)) {
		int e = errno;
		close(fd);
		snprintf(err, errlen, "cannot count in lock %s: %s", path, strerror(e));
		return -e;
	}
	return fd;
}

int apply_lock(char *err, size_t errlen)
{
	return apply_lock_counted(NULL, err, errlen);
}

int apply_lock_peek(uint64_t *count)
{
	int fd = open(lock_path(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? (*count = 0, 0) : -errno;
	/* The count first, then the lock found free: a holder that counted after the read changes the
	 * count; one that counted before it still held the lock, or was done. */
	int have = lock_count_read(fd, count);
	int rc = flock(fd, LOCK_SH | LOCK_NB) ? -errno : 0;
	close(fd);
	if (rc == -EWOULDBLOCK)
		return -EBUSY;
	return rc ? rc : have ? 0 : -ENODATA;
}

void apply_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

static void record(struct exec *x, const struct op *op)
{
	x->done[x->n_done++] = op;
}

static const void *obj_of(const struct op *op)
{
	return op->new ? op->new : op->old;
}

/* The device a peer operation is for: one device's peers go in one `wg set`. */
static const char *peer_dev(const struct op *op)
{
	return ((const struct st_wgpeer *)obj_of(op))->dev;
}

static int fail(struct exec *x, const struct op *op, int rc, const char *detail)
{
	char d[160];
	kinds[op->kind].label(d, sizeof(d), obj_of(op));
	snprintf(x->err, x->errlen, "%s %s: %s", !op->old ? "adding" : !op->new ? "removing" : "changing", d,
		 detail && *detail ? detail : strerror(-rc));
	return rc;
}

static int ensure_nl(struct exec *x)
{
	if (x->nl_open)
		return 0;
	int rc = nl_open(&x->nl);
	x->nl_open = rc == 0;
	return rc;
}

/* ---- one rtnetlink request per operation, on a batch ----------------------------------------- */

static enum rtnl_verb verb_of(const void *old, const void *new)
{
	return !old ? RTNL_ADD : !new ? RTNL_DEL : RTNL_REPLACE;
}

static long queue(struct nl_batch *b, const struct op *op, bool inverse)
{
	const void *old = inverse ? op->new : op->old, *new = inverse ? op->old : op->new;
	const struct rt_kind *k = &rt_kinds[op->kind];
	return k->queue ? k->queue(b, verb_of(old, new), new ? new : old) : -EINVAL;
}

/* Applied on the rtnetlink batch (a link's change is; its creation and removal are not). */
static bool is_rtnl(const struct op *op)
{
	return rt_kinds[op->kind].batched & (1u << verb_of(op->old, op->new));
}

/* Runs ops[0..n) as one pipelined batch. Every request that succeeded is recorded, also when a
 * later one failed (they all ran: the kernel answers requests independently). */
static int run_batch(struct exec *x, const struct op *ops, size_t n)
{
	int rc = ensure_nl(x);
	if (rc)
		return fail(x, &ops[0], rc, "cannot open a netlink socket");
	struct nl_batch b;
	nl_batch_init(&b, &x->nl);
	for (size_t i = 0; i < n; i++) {
		long idx = queue(&b, &ops[i], false);
		if (idx < 0) {
			rc = fail(x, &ops[i], (int)idx, idx == -ENODEV ? "the device does not exist" : NULL);
			nl_batch_free(&b);
			return rc;
		}
	}
	int frc = nl_batch_flush(&b);
	size_t first_bad = n;
	for (size_t i = 0; i < n && i < b.n; i++) {
		if (b.results[i] == 0)
			record(x, &ops[i]);
		else if (b.results[i] < 0 && first_bad == n)
			first_bad = i;
	}
	if (first_bad < n)
		rc = fail(x, &ops[first_bad], b.results[first_bad], nl_last_ext_msg(&x->nl));
	else if (frc)
		rc = fail(x, &ops[0], frc, "netlink");
	nl_batch_free(&b);
	return rc;
}

/* ---- WireGuard ------------------------------------------------------------------------------- */

static int wg_err(struct exec *x, const struct op *op, int rc, const char *we)
{
	return fail(x, op, rc, we);
}

static int create_link(struct exec *x, const struct op *op, const struct st_link *l)
{
	char we[WG_ERR_LEN] = "";
	int rc = wg_create(l->name, we, sizeof(we));
	if (rc)
		return wg_err(x, op, rc, we);
	kill_point("link:created");
	if ((rc = ensure_nl(x)))
		return fail(x, op, rc, "cannot open a netlink socket");
	struct nl_batch b;
	nl_batch_init(&b, &x->nl);
	long idx = rtnl_queue_link(&b, RTNL_REPLACE, l);
	rc = idx < 0 ? (int)idx : nl_batch_flush(&b);
	nl_batch_free(&b);
	if (rc) {
		wg_delete(l->name, we, sizeof(we));
		return fail(x, op, rc, nl_last_ext_msg(&x->nl));
	}
	return 0;
}

/* Peer operations of one device in a row: one `wg set`. */
static int run_peers(struct exec *x, const struct op *ops, size_t n, bool inverse)
{
	const struct st_wgpeer **set = xcalloc(n, sizeof(*set)), **rm = xcalloc(n, sizeof(*rm));
	struct wg_set s = { .name = peer_dev(&ops[0]) };
	for (size_t i = 0; i < n; i++) {
		const struct st_wgpeer *new = inverse ? ops[i].old : ops[i].new;
		const struct st_wgpeer *old = inverse ? ops[i].new : ops[i].old;
		if (new)
			set[s.n_set++] = new;
		/* Removed, and for an endpoint to unset added again: removals go first. */
		if (!new || (!inverse && ops[i].unset_endpoint))
			rm[s.n_remove++] = old;
	}
	s.set = set;
	s.remove = rm;
	char we[WG_ERR_LEN] = "";
	int rc = wg_apply(&s, we, sizeof(we));
	if (rc)
		rc = wg_err(x, &ops[0], rc, we);
	free(set);
	free(rm);
	return rc;
}

/* ---- one operation, forwards or backwards ---------------------------------------------------- */

static int run_nft(struct exec *x, const struct op *op, const struct st_nft *target)
{
	int rc = 0;
	if (!x->nft.ctx && (rc = nft_open(&x->nft)))
		return fail(x, op, rc, "cannot start libnftables");
	struct timing t;
	timing_start(&t);
	if (!x->nft_saved && !x->nft_saved_present) {
		/* The record's text of the table the kernel holds, if the plan found it (a large table
		 * lists in about a second); else the kernel's listing. */
		const struct st_nft *have = op->old;
		if (x->nft_before && have && have->present) {
			nft_save_known(have, x->nft_before, &x->nft_saved, &x->nft_saved_present);
			timing_end(&t, "nft: the table's rollback copy made from the record");
		} else if ((rc = nft_save(&x->nft, &x->nft_saved, &x->nft_saved_present))) {
			return fail(x, op, rc, x->nft.err);
		} else {
			timing_end(&t, "nft: the table saved for rollback");
		}
	}
	uint32_t gen;
	bool have_gen = !nft_generation(&gen);
	if (!target) {
		rc = nft_delete(&x->nft);
	} else {
		char *doc = nft_document(target);
		rc = doc ? nft_run(&x->nft, doc) : -ENOMEM;
		free(doc);
	}
	if (rc)
		return fail(x, op, rc, x->nft.err);
	timing_end(&t, "nft: the table loaded");
	/* A memo that cannot be written only costs the next plan a full read of the rules. */
	nft_remember(have_gen ? &gen : NULL, target ? target->fingerprint : NULL);
	timing_end(&t, "nft: its generation remembered");
	return 0;
}

static int restore_nft(struct exec *x, const struct op *op)
{
	uint32_t gen;
	bool have_gen = !nft_generation(&gen);
	int rc = x->nft_saved ? nft_run(&x->nft, x->nft_saved) : nft_delete(&x->nft);
	if (rc)
		return fail(x, op, rc, x->nft.err);
	/* The memo named the table this apply loaded: a failed apply leaves no record of what it
	 * did not apply. It names the table put back instead when that is known to be what its
	 * fingerprint says (wgc's, untouched by hand: made from the record or listed as it was), so
	 * the next plan need not read its rules; else it is gone, and the next plan reads them once. */
	const struct st_nft *was = op->old;
	bool known = x->nft_saved && was && was->present && !was->tampered && was->fingerprint[0];
	nft_remember_quick(have_gen ? &gen : NULL, known ? was->fingerprint : NULL);
	return 0;
}

static int run_sysctl(struct exec *x, const struct op *op, const void *old, const void *new, bool inverse)
{
	const struct st_sysctl *s = new, *was = old;
	int rc;
	if (!s)
		return 0; /* a sysctl wgc set is left as it is */
	/* Write-ahead: the value found is on disk before the first change (a policy's value has no
	 * origin; one being put back, or a rollback, records nothing). */
	if (!inverse && !s->origin && was && !was->origin && (rc = sysctl_origin_record(s->key, was->value)))
		return fail(x, op, rc, "cannot record its value before changing it");
	rc = sysctl_write(s->key, s->value);
	return rc ? fail(x, op, rc, NULL) : 0;
}

static int run_nft_op(struct exec *x, const struct op *op, const void *old, const void *new, bool inverse)
{
	(void)old;
	return inverse ? restore_nft(x, op) : run_nft(x, op, new);
}

static int run_link(struct exec *x, const struct op *op, const void *old, const void *new, bool inverse)
{
	(void)inverse;
	char we[WG_ERR_LEN] = "";
	if (!old)
		return create_link(x, op, new);
	if (!new) {
		int rc = wg_delete(((const struct st_link *)old)->name, we, sizeof(we));
		return rc ? wg_err(x, op, rc, we) : 0;
	}
	return run_batch(x, op, 1);
}

static int run_wgdev(struct exec *x, const struct op *op, const void *old, const void *new, bool inverse)
{
	(void)old, (void)inverse;
	if (!new)
		return 0; /* the device goes with its link */
	char we[WG_ERR_LEN] = "";
	struct wg_set s = { .name = ((const struct st_wgdev *)new)->name, .dev = new };
	int rc = wg_apply(&s, we, sizeof(we));
	return rc ? wg_err(x, op, rc, we) : 0;
}

static int run_wgpeer(struct exec *x, const struct op *op, const void *old, const void *new, bool inverse)
{
	(void)old, (void)new;
	return run_peers(x, op, 1, inverse);
}

/* A link's resolvers, set or taken back by the backend the plan was made for (dns.h). */
static int run_dns(struct exec *x, const struct op *op, const void *old, const void *new, bool inverse)
{
	(void)inverse;
	char de[DNS_ERR_LEN] = "";
	const struct st_dns *o = new ? new : old;
	int rc = 0;
	if (!x->dns_open) {
		char what[64];
		snprintf(what, sizeof(what), "tunnel %s sets dns", o->dev);
		if ((rc = dns_open(&x->dns, what, de, sizeof(de))))
			return fail(x, op, rc, de);
		x->dns_open = true;
	}
	rc = new ? dns_set(&x->dns, new, de, sizeof(de)) : dns_revert(&x->dns, o->dev, de, sizeof(de));
	return rc ? fail(x, op, rc, de) : 0;
}

/* A single rtnetlink request (the rollback path of addresses, routes and rules). */
static int run_rtnl(struct exec *x, const struct op *op, const void *old, const void *new, bool inverse)
{
	(void)old, (void)new;
	int rc;
	if ((rc = ensure_nl(x)))
		return fail(x, op, rc, NULL);
	struct nl_batch b;
	nl_batch_init(&b, &x->nl);
	long idx = queue(&b, op, inverse);
	rc = idx < 0 ? (int)idx : nl_batch_flush(&b);
	nl_batch_free(&b);
	return rc ? fail(x, op, rc, nl_last_ext_msg(&x->nl)) : 0;
}

/* How one operation of each kind runs, forwards or (inverse) backwards. */
typedef int run_fn(struct exec *x, const struct op *op, const void *old, const void *new, bool inverse);
static run_fn *const runs[N_KINDS] = {
	[KIND_SYSCTL] = run_sysctl, [KIND_NFT] = run_nft_op, [KIND_LINK] = run_link, [KIND_WGDEV] = run_wgdev,
	[KIND_WGPEER] = run_wgpeer, [KIND_ADDR] = run_rtnl, [KIND_ROUTE] = run_rtnl, [KIND_RULE] = run_rtnl,
	[KIND_DNS] = run_dns,
};

static int run_one(struct exec *x, const struct op *op, bool inverse)
{
	const void *old = inverse ? op->new : op->old, *new = inverse ? op->old : op->new;
	return runs[op->kind](x, op, old, new, inverse);
}

static bool is_rule_removal(const struct op *op)
{
	return op->kind == KIND_RULE && !op->new;
}

static size_t undo(struct exec *x, const struct op *op)
{
	if (!run_one(x, op, true))
		return 0;
	fprintf(stderr, "wgc: rollback: %s\n", x->err);
	return 1;
}

/* Whether an operation's inverse is an rtnetlink request of a batch (as is_rtnl, backwards). */
static bool undo_batched(const struct op *op)
{
	return rt_kinds[op->kind].batched & (1u << verb_of(op->new, op->old));
}

/* The inverses of ops[0..n), in that order, as one pipelined batch that goes on past a failure:
 * every failure is said. Returns how many could not be undone. */
static size_t undo_run(struct exec *x, const struct op *const *ops, size_t n)
{
	size_t failed = 0;
	int rc = ensure_nl(x);
	if (rc) {
		for (size_t i = 0; i < n; i++) {
			fail(x, ops[i], rc, "cannot open a netlink socket");
			fprintf(stderr, "wgc: rollback: %s\n", x->err);
		}
		return n;
	}
	const struct op **queued = xcalloc(n, sizeof(*queued));
	struct nl_batch b;
	nl_batch_init(&b, &x->nl);
	b.keep_going = true;
	for (size_t i = 0; i < n; i++) {
		long idx;
		if (x->fault_undo == x->undo_queued++) {
			/* Test builds (WGC_FAULT_UNDO): in this inverse's place, the removal of a route
			 * that is not there, which the kernel refuses (ESRCH). */
			struct st_route none = { .family = AF_INET, .table = 252, .type = ROUTE_BLACKHOLE,
						 .protocol = WGC_RTPROT };
			ipaddr_parse("192.0.2.255", &none.dst);
			idx = rt_kinds[KIND_ROUTE].queue(&b, RTNL_DEL, &none);
		} else {
			idx = queue(&b, ops[i], true);
		}
		if (idx < 0) {
			failed++;
			fail(x, ops[i], (int)idx, idx == -ENODEV ? "the device does not exist" : NULL);
			fprintf(stderr, "wgc: rollback: %s\n", x->err);
		} else {
			queued[idx] = ops[i];
		}
	}
	int frc = b.n ? nl_batch_flush(&b) : 0;
	bool first = true;
	for (size_t i = 0; i < b.n; i++) {
		if (!b.results[i])
			continue;
		/* The kernel's message is of the first failure; never sent (1): the flush's error. */
		int err = b.results[i] < 0 ? b.results[i] : frc ? frc : -EIO;
		failed++;
		fail(x, queued[i], err, first && b.results[i] < 0 ? nl_last_ext_msg(&x->nl) : NULL);
		fprintf(stderr, "wgc: rollback: %s\n", x->err);
		first = first && b.results[i] >= 0;
	}
	nl_batch_free(&b);
	free(queued);
	return failed;
}

/* Undoes every completed operation, newest first. Returns how many could not be undone. A run
 * of addresses, routes and rules to put back goes as one batch, as the forward path does, and a
 * failure in it does not stop the rest.
 *
 * One exception to the order: a run of rule removals is undone oldest first. The kernel appends a
 * rule behind those of the same priority, so re-adding them in the order they were removed (the
 * order wgc added them in) puts rules of one priority back in their original order. */
static size_t rollback(struct exec *x)
{
	size_t failed = 0, n = 0;
	char keep[512];
	snprintf(keep, sizeof(keep), "%s", x->err);
	const struct op **order = xcalloc(x->n_done ? x->n_done : 1, sizeof(*order));
	for (size_t i = x->n_done; i-- > 0;) {
		if (is_rule_removal(x->done[i])) {
			size_t first = i;
			while (first > 0 && is_rule_removal(x->done[first - 1]))
				first--;
			for (size_t k = first; k <= i; k++)
				order[n++] = x->done[k];
			i = first;
			continue;
		}
		/* Undoing a removed link recreates it; the device settings and peers that went with
		 * it come back through their own inverses, which follow. */
		order[n++] = x->done[i];
	}
	for (size_t i = 0; i < n;) {
		size_t k = i;
		while (k < n && undo_batched(order[k]))
			k++;
		if (k > i) {
			failed += undo_run(x, order + i, k - i);
			i = k;
		} else {
			failed += undo(x, order[i++]);
		}
	}
	free(order);
	snprintf(x->err, x->errlen, "%s", keep);
	return failed;
}

/* Test builds: WGC_KILL_AT=step:N kills wgc before the Nth step of the plan (a step: one
 * operation, one device's peers, or a run of rtnetlink requests); N = the number of steps is
 * after the last one. */
static void step_point(size_t step)
{
	char name[32];
	snprintf(name, sizeof(name), "step:%zu", step);
	kill_point(name);
}

int apply_plan(const struct plan *p, char *err, size_t errlen)
{
	return apply_plan_watched(p, NULL, err, errlen);
}

int apply_plan_watched(const struct plan *p, const struct apply_watch *watch, char *err, size_t errlen)
{
	struct exec x = { .err = err, .errlen = errlen, .fault_at = -1, .fault_undo = -1, .nft_before = p->nft_before };
	int rc = 0;
	if (!p->n_ops)
		return 0;
#ifdef WGC_TEST_FAULTS
	const char *f = getenv("WGC_FAULT_AT");
	if (f && *f)
		x.fault_at = strtol(f, NULL, 10);
	f = getenv("WGC_FAULT_UNDO");
	if (f && *f)
		x.fault_undo = strtol(f, NULL, 10);
#endif
	x.done = xcalloc(p->n_ops, sizeof(*x.done));
	size_t step = 0;
	struct timing t;
	timing_start(&t);
	for (size_t i = 0; i < p->n_ops && !rc; step++) {
		const struct op *op = &p->ops[i];
		size_t n = 1;
		step_point(step);
		if (is_rtnl(op)) {
			while (i + n < p->n_ops && is_rtnl(&p->ops[i + n]))
				n++;
			rc = run_batch(&x, op, n);
		} else if (op->kind == KIND_WGPEER) {
			while (i + n < p->n_ops && p->ops[i + n].kind == KIND_WGPEER &&
			       !strcmp(peer_dev(&p->ops[i + n]), peer_dev(op)))
				n++;
			rc = run_peers(&x, op, n, false);
			for (size_t k = 0; !rc && k < n; k++)
				record(&x, &op[k]);
		} else {
			rc = run_one(&x, op, false);
			if (!rc)
				record(&x, op);
		}
		if (t.on) {
			char what[64];
			snprintf(what, sizeof(what), "apply %zu %s operation%s", n, is_rtnl(op) ? "rtnetlink" : kinds[op->kind].word,
				 n == 1 ? "" : "s");
			timing_end(&t, what);
		}
		for (size_t k = i; !rc && watch && k < i + n; k++)
			watch->done(watch->arg, k + 1, p->n_ops, &p->ops[k]);
		i += n;
		if (!rc && x.fault_at >= 0 && (long)x.n_done >= x.fault_at) {
			rc = -EIO;
			snprintf(err, errlen, "injected fault after %zu operations (WGC_FAULT_AT)", x.n_done);
		}
	}
	if (!rc)
		step_point(step);
	if (rc) {
		size_t undone = x.n_done, failed = rollback(&x);
		timing_end(&t, "rollback");
		size_t len = strlen(err);
		if (failed)
			snprintf(err + len, errlen - len, "; rollback failed for %zu of %zu operations", failed, undone);
		else
			snprintf(err + len, errlen - len, "; rolled back %zu operations, nothing changed", undone);
	}
	if (x.nl_open)
		nl_close(&x.nl);
	nft_close(&x.nft);
	if (x.dns_open)
		dns_close(&x.dns);
	free(x.nft_saved);
	free(x.done);
	return rc;
}
