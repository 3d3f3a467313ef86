/* How memhook-runtime's own messages reach the engine's user: stderr, and
 * the runtime's --log file in its --log-format, where docker and
 * containerd look for a failed runtime's last error. */
#ifndef MEMHOOK_SHIM_RUNLOG_H
#define MEMHOOK_SHIM_RUNLOG_H

#include "args.h"

enum shim_level
{
  SHIM_LEVEL_ERROR,
  SHIM_LEVEL_WARNING,
};

/* One line on stderr, and one in the --log file when given: json
 * {"level":"error","msg":…,"time":"RFC 3339"} as runc's logrus writes it
 * under --log-format json, logrus's text line otherwise.  A log file that
 * cannot be written is skipped: stderr still has the message. */
void shim_report (const struct shim_args *args, enum shim_level level, const char *msg);

#endif
