/* oomkids N MIB: fork N children one after another; each touches MIB MiB
 * (meant to exceed the container's limit, so the OOM killer takes it).
 * The parent stays small, waits for each child and prints how it ended,
 * then exits 0: a container whose children were OOM-killed but whose
 * main process was not. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MIB (1024L * 1024L)

static void
touch (long mib)
{
  for (long i = 0; i < mib; i++)
    {
      char *p = malloc (MIB);
      if (p == NULL)
        _exit (1);
      memset (p, 1, MIB);
    }
  _exit (0);
}

int
main (int argc, char **argv)
{
  long n, mib;

  if (argc != 3)
    {
      fputs ("usage: oomkids N MIB\n", stderr);
      return 2;
    }
  n = strtol (argv[1], NULL, 10);
  mib = strtol (argv[2], NULL, 10);
  /* The parent must never be the OOM victim. */
  FILE *adj = fopen ("/proc/self/oom_score_adj", "w");
  if (adj != NULL)
    {
      fputs ("-1000", adj);
      fclose (adj);
    }
  for (long i = 1; i <= n; i++)
    {
      int status;
      fflush (stdout);
      pid_t pid = fork ();
      if (pid < 0)
        {
          perror ("oomkids: fork");
          return 1;
        }
      if (pid == 0)
        {
          /* Children inherit -1000: give them the normal score back. */
          FILE *a = fopen ("/proc/self/oom_score_adj", "w");
          if (a != NULL)
            {
              fputs ("0", a);
              fclose (a);
            }
          touch (mib);
        }
      if (waitpid (pid, &status, 0) < 0)
        {
          perror ("oomkids: waitpid");
          return 1;
        }
      if (WIFSIGNALED (status))
        printf ("oomkids: child %ld killed by signal %d\n", i, WTERMSIG (status));
      else
        printf ("oomkids: child %ld exited %d\n", i, WEXITSTATUS (status));
    }
  fflush (stdout);
  return 0;
}
