/* memhook-watch: the OOM watcher as its own small static binary, so each
 * watched container costs only the pages this process dirties itself.
 * Started by 'memhook hook createRuntime' (cgroups/watch_spawn.c). */
#include "watch.h"

int
main (int argc, char **argv)
{
  return watch_main (argc, argv);
}
