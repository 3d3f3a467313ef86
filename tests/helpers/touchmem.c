/* touchmem MIB [--hold SECONDS]: allocate and touch MIB MiB, 1 MiB at a
 * time, so the memory is really charged to the cgroup; then optionally
 * hold it.  Progress is printed sparsely (every 16 MiB) with a flush so
 * the last line before an OOM kill shows how far it got. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB (1024L * 1024L)

int
main (int argc, char **argv)
{
  long want, hold = 0;
  char *end;

  if (argc != 2 && !(argc == 4 && strcmp (argv[2], "--hold") == 0))
    {
      fputs ("usage: touchmem MIB [--hold SECONDS]\n", stderr);
      return 2;
    }
  want = strtol (argv[1], &end, 10);
  if (*end != '\0' || want < 0)
    {
      fprintf (stderr, "touchmem: bad size '%s'\n", argv[1]);
      return 2;
    }
  if (argc == 4)
    hold = strtol (argv[3], NULL, 10);

  for (long i = 1; i <= want; i++)
    {
      char *p = malloc (MIB);
      if (p == NULL)
        {
          fprintf (stderr, "touchmem: malloc failed at %ld MiB\n", i);
          return 1;
        }
      memset (p, (int) (i & 0xff) | 1, MIB);
      if (i % 16 == 0 || i == want)
        {
          printf ("touchmem: %ld MiB\n", i);
          fflush (stdout);
        }
    }
  printf ("touchmem: done %ld MiB\n", want);
  fflush (stdout);
  if (hold > 0)
    sleep ((unsigned) hold);
  return 0;
}
