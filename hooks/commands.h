/* The memhook subcommands; each returns the process exit status
 * (0 ok, 1 a failure it explained on stderr, 2 usage). */
#ifndef MEMHOOK_COMMANDS_H
#define MEMHOOK_COMMANDS_H

int cmd_validate (int argc, char **argv);
int cmd_hook (int argc, char **argv);
int cmd_events (int argc, char **argv);
int cmd_inspect (int argc, char **argv);
/* Internal: the OOM watcher, started by the hook. */
int cmd_watch (int argc, char **argv);

#endif
