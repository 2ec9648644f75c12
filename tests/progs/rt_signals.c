/* rt_signals.c: a program that handles every real-time signal itself, installing its
 * handlers once running (after memprof's leak thread took the highest free one for its
 * stops), and raises each: every handler must run once. memprof's stop handler took the
 * program's raise() of SIGRTMAX for one of its own stops and swallowed it.
 *
 *   rt_signals   prints "missing 0" when every signal reached its handler once
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t got[_NSIG];

static void on_signal(int sig)
{
	got[sig]++;
}

int main(void)
{
	for (int i = 0; i < 1000; i++)
		free(malloc(16 + (size_t)i));
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	nanosleep(&pause, NULL);
	for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++) {
		struct sigaction action;
		memset(&action, 0, sizeof(action));
		action.sa_handler = on_signal;
		sigemptyset(&action.sa_mask);
		if (sigaction(sig, &action, NULL) != 0)
			printf("sigaction %d failed\n", sig);
	}
	for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		raise(sig);
	int missing = 0;
	for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		if (got[sig] != 1) {
			printf("signal %d reached its handler %d times\n", sig, (int)got[sig]);
			missing++;
		}
	printf("missing %d\n", missing);
	return missing != 0;
}
