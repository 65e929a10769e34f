/* dns_resolvconf.c - a link's DNS through a `resolvconf` program, as wg-quick does it.
 *
 * Set: `resolvconf -a PREFIXdev -m 0 -x` with "nameserver A" and "search D ..." lines on its
 * standard input; revert: `resolvconf -d PREFIXdev -f`. PREFIX is wg-quick's: the first pattern of
 * /etc/resolvconf/interface-order of the form NAME* gives "NAME." (Debian's ranks "tun*" first
 * among VPNs, so wg0's record is tun.wg0 and its servers come before the LAN's).
 * Read: Debian's resolvconf keeps each record in /run/resolvconf/interface/NAME; openresolv prints
 * it with `resolvconf -l NAME`. Only nameserver and search lines are parsed; nothing of a record
 * is ever printed. The program runs without a shell, with a time bound; its own output is not
 * passed on (a failure is told by its exit status).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model/kind.h"
#include "model/xalloc.h"
#include "runtime/dns_backend.h"

#define RESOLVCONF_TIMEOUT_MS 10000
#define RESOLVCONF_DEBIAN_DIR "/run/resolvconf/interface"
#define RESOLVCONF_OUT_MAX 65536

extern char **environ;

void resolvconf_prefix(FILE *order, char *prefix, size_t len)
{
	char line[256];
	prefix[0] = '\0';
	while (order && fgets(line, sizeof(line), order)) {
		size_t n = strcspn(line, "\r\n");
		line[n] = '\0';
		size_t name = strspn(line, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-");
		if (name && name + 1 == n && line[name] == '*' && name + 2 <= len) {
			snprintf(prefix, len, "%.*s.", (int)name, line);
			return;
		}
	}
}

static void find_prefix(struct dns *d)
{
	FILE *f = fopen("/etc/resolvconf/interface-order", "re");
	resolvconf_prefix(f, d->prefix, sizeof(d->prefix));
	if (f)
		fclose(f);
}

int resolvconf_find(struct dns *d)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		if (n && n + sizeof("/resolvconf") <= sizeof(d->resolvconf)) {
			snprintf(d->resolvconf, sizeof(d->resolvconf), "%.*s/resolvconf", (int)n, path);
			struct stat st;
			if (!stat(d->resolvconf, &st) && S_ISREG(st.st_mode) && !access(d->resolvconf, X_OK)) {
				find_prefix(d);
				return 1;
			}
		}
		path += n + (path[n] == ':');
	}
	d->resolvconf[0] = '\0';
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs resolvconf with args, in on its standard input; its standard output into out (up to
 * outlen - 1 bytes, NUL-terminated; NULL: dropped), its standard error dropped. Returns its exit
 * status (>= 0) or a negative errno (-ETIMEDOUT: killed after RESOLVCONF_TIMEOUT_MS). */
static int run(struct dns *d, const char *const args[], const char *in, char *out, size_t outlen)
{
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, rc, status;
	posix_spawn_file_actions_t fa;
	pid_t pid = -1;
	char *argv[8];
	size_t k = 0;
	argv[k++] = d->resolvconf;
	for (size_t i = 0; args[i] && k < 7; i++)
		argv[k++] = (char *)args[i];
	argv[k] = NULL;
	if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC)) {
		rc = -errno;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
	posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = -posix_spawn(&pid, d->resolvconf, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pin[0]);
	close(pout[1]);
	pin[0] = pout[1] = -1;
	if (rc) {
		pid = -1;
		goto out;
	}
	size_t inlen = in ? strlen(in) : 0, sent = 0, got = 0;
	if (!inlen) {
		close(pin[1]);
		pin[1] = -1;
	}
	int64_t deadline = now_ms() + RESOLVCONF_TIMEOUT_MS;
	/* A program that exits without reading its input must not kill wgc: SIGPIPE is blocked
	 * while writing (and one raised is taken back below), the write fails with EPIPE instead. */
	sigset_t pipe_set, old_set;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_set, &old_set);
	while (pout[0] >= 0) {
		struct pollfd p[2] = { { .fd = pout[0], .events = POLLIN }, { .fd = pin[1], .events = POLLOUT } };
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		if (poll(p, pin[1] >= 0 ? 2 : 1, (int)left) < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		if (pin[1] >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = write(pin[1], in + sent, inlen - sent);
			if (w > 0)
				sent += (size_t)w;
			if (w < 0 || sent == inlen) {
				close(pin[1]);
				pin[1] = -1;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			char buf[4096];
			ssize_t r = read(pout[0], buf, sizeof(buf));
			if (r <= 0) {
				close(pout[0]);
				pout[0] = -1;
			} else if (out && got < outlen - 1) {
				size_t take = (size_t)r < outlen - 1 - got ? (size_t)r : outlen - 1 - got;
				memcpy(out + got, buf, take);
				got += take;
			}
		}
	}
	if (out)
		out[got] = '\0';
	struct timespec none = { 0, 0 };
	while (sigtimedwait(&pipe_set, NULL, &none) == SIGPIPE)
		;
	sigprocmask(SIG_SETMASK, &old_set, NULL);
	/* Its output is closed (or time is up): it has exited, or is about to. */
	while (!rc) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			pid = -1;
			rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
			goto out;
		}
		if (w < 0) {
			rc = -errno;
			break;
		}
		if (now_ms() >= deadline) {
			rc = -ETIMEDOUT;
			break;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	for (int i = 0; i < 2; i++) {
		if (pin[i] >= 0)
			close(pin[i]);
		if (pout[i] >= 0)
			close(pout[i]);
	}
	return rc;
}

static void record_name(const struct dns *d, const char *dev, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", d->prefix, dev);
}

static int run_fail(char *err, size_t errlen, int rc, const char *what, const char *name)
{
	if (rc < 0)
		return dns_fail(err, errlen, rc, "resolvconf %s %s: %s", what, name,
				rc == -ETIMEDOUT ? "did not finish in time, killed" : strerror(-rc));
	return dns_fail(err, errlen, -EIO, "resolvconf %s %s failed (exit status %d)", what, name, rc);
}

/* The rest of line after keyword and a blank, or NULL if line is not "keyword ...". */
static const char *after_word(const char *line, const char *keyword)
{
	size_t n = strlen(keyword);
	line += strspn(line, " \t");
	return !strncmp(line, keyword, n) && (line[n] == ' ' || line[n] == '\t') ? line + n : NULL;
}

void resolvconf_parse(const char *text, struct st_dns *o)
{
	while (*text) {
		size_t n = strcspn(text, "\n");
		char line[1024], word[256];
		const char *rest;
		int used;
		snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) - 1 ? n : sizeof(line) - 1), text);
		text += n + (text[n] == '\n');
		struct ipaddr a;
		if ((rest = after_word(line, "nameserver")) && sscanf(rest, "%255s", word) == 1 && ipaddr_parse(word, &a) &&
		    a.len == (a.family == AF_INET ? 32 : 128)) {
			o->servers = xgrow(o->servers, o->n_servers, sizeof(*o->servers));
			o->servers[o->n_servers++] = a;
		} else if ((rest = after_word(line, "search"))) {
			for (; sscanf(rest, "%255s%n", word, &used) == 1; rest += used) {
				o->domains = xgrow(o->domains, o->n_domains, sizeof(*o->domains));
				o->domains[o->n_domains++] = xstrdup(word);
			}
		}
	}
}

int resolvconf_read(struct dns *d, const char *dev, struct state *out, char *err, size_t errlen)
{
	char name[64], path[128];
	char *text = xmalloc(RESOLVCONF_OUT_MAX);
	int rc = 0;
	struct stat st;
	record_name(d, dev, name, sizeof(name));
	text[0] = '\0';
	if (!stat(RESOLVCONF_DEBIAN_DIR, &st) && S_ISDIR(st.st_mode)) {
		/* Debian's resolvconf: the record as a file. */
		snprintf(path, sizeof(path), "%s/%s", RESOLVCONF_DEBIAN_DIR, name);
		FILE *f = fopen(path, "re");
		if (f) {
			size_t n = fread(text, 1, RESOLVCONF_OUT_MAX - 1, f);
			text[n] = '\0';
			fclose(f);
		} else if (errno != ENOENT) {
			rc = dns_fail(err, errlen, -errno, "reading resolvconf's record %s: %s", path, strerror(errno));
		}
	} else {
		/* openresolv: the record as `resolvconf -l NAME` prints it (exit 1: none). */
		const char *args[] = { "-l", name, NULL };
		int r = run(d, args, NULL, text, RESOLVCONF_OUT_MAX);
		if (r < 0)
			rc = run_fail(err, errlen, r, "-l", name);
		else if (r)
			text[0] = '\0';
	}
	if (!rc && text[0]) {
		struct st_dns o = { 0 };
		snprintf(o.dev, sizeof(o.dev), "%s", dev);
		resolvconf_parse(text, &o);
		if (o.n_servers || o.n_domains) {
			*(struct st_dns *)kind_add(out, KIND_DNS) = o;
		} else {
			free(o.servers);
			free(o.domains);
		}
	}
	free(text);
	return rc;
}

int resolvconf_set(struct dns *d, const struct st_dns *o, char *err, size_t errlen)
{
	char name[64], a[64];
	record_name(d, o->dev, name, sizeof(name));
	size_t len = 16;
	for (size_t i = 0; i < o->n_domains; i++)
		len += strlen(o->domains[i]) + 1;
	len += o->n_servers * 64;
	char *in = xmalloc(len), *p = in;
	for (size_t i = 0; i < o->n_servers; i++)
		p += sprintf(p, "nameserver %s\n", ipaddr_host_str(&o->servers[i], a, sizeof(a)));
	for (size_t i = 0; i < o->n_domains; i++)
		if (o->domains[i][0] != '~')
			p += sprintf(p, "%s%s", p == in || p[-1] == '\n' ? "search " : " ", o->domains[i]);
	if (p > in && p[-1] != '\n')
		*p++ = '\n';
	*p = '\0';
	const char *args[] = { "-a", name, "-m", "0", "-x", NULL };
	int rc = run(d, args, in, NULL, 0);
	free(in);
	return rc ? run_fail(err, errlen, rc, "-a", name) : 0;
}

int resolvconf_revert(struct dns *d, const char *dev, char *err, size_t errlen)
{
	char name[64];
	record_name(d, dev, name, sizeof(name));
	const char *args[] = { "-d", name, "-f", NULL };
	int rc = run(d, args, NULL, NULL, 0);
	return rc ? run_fail(err, errlen, rc, "-d", name) : 0;
}
