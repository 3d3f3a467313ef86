/* memhook: the OCI hook (memhook hook STAGE) and the operator's CLI. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "memhook-build.h"

static void
usage (FILE *out)
{
  fputs ("usage: memhook COMMAND [OPTIONS]\n"
         "\n"
         "commands:\n"
         "  validate [--bundle DIR | --config FILE] [--cgroup v1|v2|auto] [--json]\n"
         "                      print the plan for a config.json without touching anything\n"
         "  hook STAGE          run as an OCI hook (createRuntime, prestart, poststart, poststop)\n"
         "  events [--follow] [--json] [ID]\n"
         "                      the event log as a timeline\n"
         "  inspect ID          live usage, limits, OOM counters and the last verdict\n"
         "  version             print the version\n"
         "\n"
         "Every command takes --state-dir DIR and --help.  See memhook(1).\n",
         out);
}

int
main (int argc, char **argv)
{
  static const struct
  {
    const char *name;
    int (*run) (int, char **);
  } commands[] = {
    { "validate", cmd_validate },
    { "hook", cmd_hook },
    { "events", cmd_events },
    { "inspect", cmd_inspect },
    { "__watch", cmd_watch },
  };

  if (argc < 2)
    {
      usage (stderr);
      return 2;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      usage (stdout);
      return 0;
    }
  if (strcmp (argv[1], "version") == 0 || strcmp (argv[1], "--version") == 0)
    {
      printf ("memhook %s\n", MEMHOOK_VERSION);
      return 0;
    }
  for (size_t i = 0; i < sizeof (commands) / sizeof (commands[0]); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].run (argc - 1, argv + 1);

  fprintf (stderr, "memhook: unknown command '%s'; run 'memhook --help' for the list\n", argv[1]);
  return 2;
}
