/* wgc_confirm.c - the pending confirmation of `apply --confirm`, its waiter, and `wgc confirm`
 * (see wgc_confirm.h). */
#include "wgc_confirm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/apply.h"
#include "runtime/records.h"
#include "wgc_kernel.h"

/* ---- the record -------------------------------------------------------------------------------- */

void pending_free(struct pending *p)
{
	json_decref(p->restore);
	memset(p, 0, sizeof(*p));
}

int pending_load(struct pending *p)
{
	char path[4096], boot[40];
	json_error_t je;
	json_t *j;
	memset(p, 0, sizeof(*p));
	int rc = records_json_load(CONFIRM_RECORD, path, sizeof(path), &j, &je);
	if (rc <= 0)
		return rc;
	const char *tok = json_string_value(json_object_get(j, "token"));
	const char *rec_boot = json_string_value(json_object_get(j, "boot_id"));
	json_t *restore = json_object_get(j, "restore");
	if (!j || !tok || strlen(tok) != 32 || !json_is_integer(json_object_get(j, "deadline")) || !rec_boot ||
	    !(json_is_object(restore) || json_is_null(restore))) {
		fprintf(stderr, "wgc: %s: corrupt record of a pending confirmation (%s); nothing was done (remove "
				"it to go on: the apply it belongs to is then kept)\n",
			path, j ? "members missing" : je.text);
		json_decref(j);
		return -1;
	}
	records_boot_id(boot);
	if (boot[0] && strcmp(boot, rec_boot)) {
		json_decref(j);
		return 0;
	}
	p->deadline = json_integer_value(json_object_get(j, "deadline"));
	snprintf(p->token, sizeof(p->token), "%s", tok);
	p->pid = (long)json_integer_value(json_object_get(j, "pid"));
	const char *start = json_string_value(json_object_get(j, "start"));
	p->start = start ? strtoull(start, NULL, 10) : 0;
	p->restore = json_incref(restore);
	json_decref(j);
	return 1;
}

int pending_save(const struct pending *p, char *err, size_t errlen)
{
	char path[4096], boot[40], start[24];
	int rc = records_path(CONFIRM_RECORD, path, sizeof(path), 1, err, errlen);
	if (rc)
		return rc;
	records_boot_id(boot);
	snprintf(start, sizeof(start), "%llu", p->start);
	json_t *j = json_pack("{sI sI ss ss sI ss sO}", "wgc_confirm", (json_int_t)1, "deadline",
			      (json_int_t)p->deadline, "token", p->token, "boot_id", boot, "pid", (json_int_t)p->pid,
			      "start", start, "restore", p->restore ? p->restore : json_null());
	char *text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	rc = text ? records_write(path, text, strlen(text)) : -ENOMEM;
	free(text);
	json_decref(j);
	if (rc)
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-rc));
	return rc;
}

static void unlink_record(const char *name)
{
	char path[4096], err[1024];
	if (!records_path(name, path, sizeof(path), 0, err, sizeof(err)))
		unlink(path);
}

void pending_remove(void)
{
	unlink_record(CONFIRM_RECORD);
}

/* ---- the waiter, told from any other process by its PID and start time ------------------------- */

/* Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot; 0 if gone. */
static unsigned long long proc_start(long pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
	unsigned long long start = 0;
	if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			&start) != 1)
		start = 0;
	return start;
}

static bool waiter_alive(const struct pending *p)
{
	return p->pid > 0 && p->start && proc_start(p->pid) == p->start;
}

void confirm_stop_waiter(const struct pending *p)
{
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_send_signal)
	if (p->pid <= 0 || !p->start)
		return;
	/* The pidfd pins the process: checked to be the waiter, it is the one signalled, even if it
	 * ended meanwhile and its PID went to another. */
	int fd = (int)syscall(SYS_pidfd_open, (pid_t)p->pid, 0);
	if (fd < 0)
		return;
	if (proc_start(p->pid) == p->start)
		syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0);
	close(fd);
#else
	(void)p; /* it wakes at the deadline and finds nothing to do */
#endif
}

static void fmt_time(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!localtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm))
		snprintf(buf, len, "%lld", t);
}

void pending_say(FILE *out, const struct pending *p, const char *prefix)
{
	char when[64];
	fmt_time(p->deadline, when, sizeof(when));
	long long left = p->deadline - (long long)time(NULL);
	if (waiter_alive(p) || !p->pid)
		fprintf(out, "%sa confirmation is pending: run `wgc confirm` before %s (%s%lld s), or the state "
			     "before that apply is put back\n",
			prefix, when, left >= 0 ? "in " : "", left >= 0 ? left : -left);
	else
		fprintf(out, "%sa confirmation is pending (deadline %s), but its waiter (PID %ld) is gone: nothing "
			     "will be put back; run `wgc confirm` to keep the current state\n",
			prefix, when, p->pid);
}

void confirm_failure_say(FILE *out)
{
	char path[4096], log[4096], err[1024], line[1024];
	if (records_path(CONFIRM_FAILED, path, sizeof(path), 0, err, sizeof(err)) ||
	    records_path(CONFIRM_LOG, log, sizeof(log), 0, err, sizeof(err)))
		return;
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		fprintf(out, "wgc: warning: %s (details in %s; this warning goes with the next apply)\n", line, log);
	}
	fclose(f);
}

void confirm_failure_clear(void)
{
	unlink_record(CONFIRM_FAILED);
}

int confirm_token(char out[33])
{
	unsigned char r[16];
	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		return -errno;
	for (size_t i = 0; i < sizeof(r); i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return 0;
}

static void sleep_until(long long deadline)
{
	struct timespec ts = { .tv_sec = (time_t)deadline };
	while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void log_line(const char *fmt, const char *arg)
{
	char when[64];
	fmt_time((long long)time(NULL), when, sizeof(when));
	fprintf(stderr, "%s: ", when);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	fflush(stderr);
}

static void note_failure(const char *token)
{
	char path[4096], err[1024], when[64], text[512];
	fmt_time((long long)time(NULL), when, sizeof(when));
	int n = snprintf(text, sizeof(text),
			 "the rollback of an unconfirmed apply (token %.8s) failed at %s: the kernel may hold part of "
			 "either state; run `wgc plan`, then `wgc apply`\n",
			 token, when);
	if (!records_path(CONFIRM_FAILED, path, sizeof(path), 1, err, sizeof(err)))
		records_write(path, text, (size_t)n);
}

/* The waiter: runs until its confirmation is confirmed, replaced, or put back. It first waits for
 * the lock, which the apply that started it holds until it is done (and the deadline final). */
static _Noreturn void waiter(const char *token, restore_fn *restore)
{
	for (;;) {
		char err[1024];
		int lock = apply_lock(err, sizeof(err));
		if (lock < 0) {
			log_line("cannot take the apply lock: %s; trying again in a second", err);
			sleep(1);
			continue;
		}
		struct pending cur;
		int have = pending_load(&cur);
		if (have <= 0 || strcmp(cur.token, token)) {
			if (have > 0)
				log_line("%s", "the confirmation was replaced by a later `apply --confirm`");
			pending_free(&cur);
			apply_unlock(lock);
			_exit(have < 0 ? 1 : 0);
		}
		if (cur.deadline > (long long)time(NULL)) {
			long long deadline = cur.deadline;
			pending_free(&cur);
			apply_unlock(lock);
			sleep_until(deadline);
			continue;
		}
		log_line("%s", json_is_null(cur.restore) ? "not confirmed in time: removing everything wgc owns"
							  : "not confirmed in time: putting back the state applied before");
		int rc = restore(cur.restore);
		if (rc)
			note_failure(token);
		else
			confirm_failure_clear();
		log_line("%s", rc ? "the rollback failed (above)" : "the rollback is complete");
		pending_remove();
		pending_free(&cur);
		apply_unlock(lock);
		_exit(rc ? 1 : 0);
	}
}

/* The waiter's stdio: nothing to read, nothing on stdout, stderr appended to its log. */
static void waiter_stdio(void)
{
	char log[4096], err[1024];
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int fd = records_path(CONFIRM_LOG, log, sizeof(log), 1, err, sizeof(err)) ? -1 :
		open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(fd >= 0 ? fd : null, STDERR_FILENO);
	}
}

int confirm_spawn(struct pending *p, restore_fn *restore, char *err, size_t errlen)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC)) {
		int e = errno;
		snprintf(err, errlen, "cannot start the confirmation's waiter: %s", strerror(e));
		return -e;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t child = fork();
	if (child < 0) {
		int e = errno;
		close(pfd[0]);
		close(pfd[1]);
		snprintf(err, errlen, "cannot start the confirmation's waiter: %s", strerror(e));
		return -e;
	}
	if (child == 0) {
		/* Its own session (no terminal to hang up on it), then a grandchild that is no session
		 * leader (it can never acquire one), adopted by init once the child exits. */
		close(pfd[0]);
		if (setsid() < 0)
			_exit(1);
		pid_t g = fork();
		if (g != 0)
			_exit(g < 0 ? 1 : 0);
		static const int ignored[] = { SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU };
		for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
			signal(ignored[i], SIG_IGN);
		pid_t self = getpid();
		if (write(pfd[1], &self, sizeof(self)) != sizeof(self))
			_exit(1);
		waiter_stdio();
		/* Every other descriptor goes, the apply's lock first: the waiter must wait for it. */
		if (close_range(3, ~0U, 0))
			for (int fd = 3; fd < 1024; fd++)
				close(fd);
		waiter(p->token, restore);
	}
	close(pfd[1]);
	int st;
	while (waitpid(child, &st, 0) < 0 && errno == EINTR)
		;
	pid_t g = 0;
	ssize_t n = read(pfd[0], &g, sizeof(g));
	close(pfd[0]);
	if (n != sizeof(g) || g <= 0) {
		snprintf(err, errlen, "cannot start the confirmation's waiter");
		return -ECHILD;
	}
	p->pid = g;
	p->start = proc_start(g);
	return 0;
}

/* ---- wgc confirm --------------------------------------------------------------------------------- */

int cmd_confirm(const struct cli *cli, int argc, char **argv)
{
	if (argc > 1) {
		fprintf(stderr, argv[1][0] == '-' ? "wgc confirm: bad arguments (see wgc --help)\n" :
						    "wgc confirm: unexpected operand '%s' (see wgc --help)\n",
			argv[1]);
		return 2;
	}
	char err[1024];
	int lock = apply_lock(err, sizeof(err));
	if (lock < 0) {
		fprintf(stderr, "wgc: %s\n", err);
		return 1;
	}
	struct pending p;
	int have = pending_load(&p), status = 1;
	if (have == 0) {
		fprintf(stderr, "wgc confirm: no confirmation is pending (no `wgc apply --confirm` waits, or its "
				"deadline passed and the state before it was put back)\n");
		confirm_failure_say(stderr);
	} else if (have > 0) {
		pending_remove();
		confirm_stop_waiter(&p);
		if (cli->verbosity > VERB_QUIET)
			printf("Confirmed: the applied state stays.\n");
		status = 0;
	}
	pending_free(&p);
	apply_unlock(lock);
	return status;
}
