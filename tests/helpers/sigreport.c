/* sigreport [SECONDS]: print every catchable signal it receives, one line
 * each ("sigreport: got 15"), until SECONDS pass (default 60) or SIGTERM
 * /SIGINT arrives, then exit 0.  Prints "sigreport: ready" once handlers
 * are installed so a test knows when to send. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  sigset_t all;
  struct timespec limit = { .tv_sec = argc > 1 ? strtol (argv[1], NULL, 10) : 60 };

  sigfillset (&all);
  sigprocmask (SIG_BLOCK, &all, NULL);
  printf ("sigreport: ready\n");
  fflush (stdout);
  for (;;)
    {
      int sig = sigtimedwait (&all, NULL, &limit);
      if (sig < 0)
        return 0;
      printf ("sigreport: got %d\n", sig);
      fflush (stdout);
      if (sig == SIGTERM || sig == SIGINT)
        return 0;
    }
}
