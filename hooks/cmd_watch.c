/* memhook __watch: the OOM watcher run from memhook itself, for when the
 * small memhook-watch binary is not installed (see cgroups/watch_spawn.c). */
#include "commands.h"
#include "watch.h"

int
cmd_watch (int argc, char **argv)
{
  return watch_main (argc, argv);
}
