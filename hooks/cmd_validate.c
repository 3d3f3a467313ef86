/* memhook validate: the plan for a config.json on this host (or for the
 * cgroup version asked), without touching anything.  Exit 0 valid,
 * 1 invalid or unreadable, 2 usage. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "commands.h"
#include "config.h"
#include "json.h"
#include "mode.h"
#include "options.h"
#include "plan.h"
#include "size.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

struct validate_args
{
  struct options_cli cli;
  const char *bundle;
  const char *config;
  const char *cgroup; /* "v1", "v2", "auto" */
  bool json;
};

static void
usage (FILE *out)
{
  fputs ("usage: memhook validate [--bundle DIR | --config FILE] [--cgroup v1|v2|auto] [--json]\n"
         "                        [--unsupported=error|warn|ignore] [--default-limit SIZE]\n"
         "                        [--max-limit SIZE] [--state-dir DIR]\n"
         "\n"
         "Prints the plan for a bundle's config.json: each OCI memory field, the cgroup file it\n"
         "becomes and the value written, with warnings and errors.  Touches nothing.\n"
         "\n"
         "  --bundle DIR      the bundle whose config.json to read (default: the current directory)\n"
         "  --config FILE     a config.json anywhere\n"
         "  --cgroup VERSION  plan for v1, v2, or auto (this host's memory controller; the default)\n"
         "  --json            the plan as JSON, with \"valid\"\n"
         "  --unsupported, --default-limit, --max-limit, --state-dir\n"
         "                    operator options, as the hook takes them (see memhook(1))\n"
         "\n"
         "Exit status: 0 valid, 1 invalid or unreadable, 2 usage error.\n",
         out);
}

/* Returns -1 to go on, or the exit status. */
static int
parse_args (int argc, char **argv, struct validate_args *a)
{
  static const struct option longopts[] = {
    { "bundle", required_argument, NULL, 'b' },
    { "config", required_argument, NULL, 'c' },
    { "cgroup", required_argument, NULL, 'g' },
    { "json", no_argument, NULL, 'j' },
    { "unsupported", required_argument, NULL, 'u' },
    { "default-limit", required_argument, NULL, 'd' },
    { "max-limit", required_argument, NULL, 'm' },
    { "state-dir", required_argument, NULL, 's' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  int c;

  optind = 1;
  opterr = 0;
  while ((c = getopt_long (argc, argv, ":b:h", longopts, NULL)) != -1)
    switch (c)
      {
      case 'b': a->bundle = optarg; break;
      case 'c': a->config = optarg; break;
      case 'g': a->cgroup = optarg; break;
      case 'j': a->json = true; break;
      case 'u': a->cli.unsupported = optarg; break;
      case 'd': a->cli.default_limit = optarg; break;
      case 'm': a->cli.max_limit = optarg; break;
      case 's': a->cli.state_dir = optarg; break;
      case 'h': usage (stdout); return 0;
      case ':':
        fprintf (stderr, "memhook: validate: %s needs a value; run 'memhook validate --help'\n", argv[optind - 1]);
        return 2;
      default:
        fprintf (stderr, "memhook: validate: unknown option '%s'; run 'memhook validate --help'\n", argv[optind - 1]);
        return 2;
      }
  if (optind < argc)
    {
      fprintf (stderr, "memhook: validate: unexpected argument '%s'; give the bundle with --bundle DIR\n", argv[optind]);
      return 2;
    }
  if (a->bundle != NULL && a->config != NULL)
    {
      fputs ("memhook: validate: --bundle and --config both given; give one\n", stderr);
      return 2;
    }
  if (strcmp (a->cgroup, "v1") != 0 && strcmp (a->cgroup, "v2") != 0 && strcmp (a->cgroup, "auto") != 0)
    {
      fprintf (stderr, "memhook: validate: --cgroup: \"%s\" is not a version; use v1, v2 or auto\n", a->cgroup);
      return 2;
    }
  return -1;
}

/* Returns 0, or the exit status after printing why. */
static int
cgroup_version (const char *want, enum cg_version *out, char *how, size_t how_len)
{
  struct cg_host host;
  cleanup_error mh_error_t err = NULL;
  char text[1024];

  if (strcmp (want, "v1") == 0 || strcmp (want, "v2") == 0)
    {
      *out = want[1] == '1' ? CG_V1 : CG_V2;
      snprintf (how, how_len, "cgroup v%d (asked with --cgroup)", (int) *out);
      return 0;
    }
  if (cg_host_detect (CGROUP_ROOT, &host, &err) < 0)
    {
      fprintf (stderr, "memhook: validate: cannot tell this host's cgroup version: %s; give --cgroup v1 or v2\n",
               mh_error_text (err, text, sizeof text));
      return 1;
    }
  *out = host.memory_version;
  snprintf (how, how_len, "cgroup v%d (this host: %s, memory controller at %s)", (int) *out,
            cg_mode_name (host.mode), host.memory_root);
  cg_host_free (&host);
  return 0;
}

/* "67108864 (64 MiB)", "-1 (unlimited)"; other values as they are. */
static const char *
value_display (const char *value, char *buf, size_t len)
{
  char *end;
  long long n;
  char human[32];

  if (strcmp (value, "-1") == 0 || strcmp (value, "max") == 0)
    {
      snprintf (buf, len, "%s (unlimited)", value);
      return buf;
    }
  n = strtoll (value, &end, 10);
  if (*value == '\0' || *end != '\0' || n < 1024)
    return value;
  snprintf (buf, len, "%s (%s)", value, size_format (n, human, sizeof human));
  return buf;
}

static void
print_notes (const char *title, const struct plan_note *n, size_t len)
{
  if (len == 0)
    return;
  printf ("\n%s:\n", title);
  for (size_t i = 0; i < len; i++)
    printf ("  %s: %s\n", n[i].field, n[i].message);
}

static void
print_steps (const struct plan *p)
{
  int wf = (int) strlen ("FIELD"), wfile = (int) strlen ("FILE"), wv = (int) strlen ("VALUE");
  bool any_why = false;
  char buf[128];

  if (p->n_steps == 0)
    {
      printf ("\n%s\n", p->n_errors > 0 ? "nothing would be written (the plan has errors)" : "nothing to write");
      return;
    }
  for (size_t i = 0; i < p->n_steps; i++)
    {
      int f = (int) strlen (p->steps[i].field), fi = (int) strlen (p->steps[i].file);
      int v = (int) strlen (value_display (p->steps[i].value, buf, sizeof buf));
      wf = f > wf ? f : wf;
      wfile = fi > wfile ? fi : wfile;
      wv = v > wv ? v : wv;
      any_why |= p->steps[i].why != NULL;
    }
  if (any_why)
    printf ("\n  %-*s  %-*s  %-*s  %s\n", wf, "FIELD", wfile, "FILE", wv, "VALUE", "WHY");
  else
    printf ("\n  %-*s  %-*s  %s\n", wf, "FIELD", wfile, "FILE", "VALUE");
  for (size_t i = 0; i < p->n_steps; i++)
    if (p->steps[i].why != NULL)
      printf ("  %-*s  %-*s  %-*s  %s\n", wf, p->steps[i].field, wfile, p->steps[i].file, wv,
              value_display (p->steps[i].value, buf, sizeof buf), p->steps[i].why);
    else
      printf ("  %-*s  %-*s  %s\n", wf, p->steps[i].field, wfile, p->steps[i].file,
              value_display (p->steps[i].value, buf, sizeof buf));
}

static bool
writes_file (const struct plan *p, const char *file)
{
  for (size_t i = 0; i < p->n_steps; i++)
    if (strcmp (p->steps[i].file, file) == 0)
      return true;
  return false;
}

static void
print_human (const char *config_path, const char *how, const struct plan *p)
{
  printf ("config: %s\n", config_path);
  printf ("plan for %s\n", how);
  print_steps (p);
  if (writes_file (p, "memory.limit_in_bytes") && writes_file (p, "memory.memsw.limit_in_bytes"))
    printf ("  (write order assumes the kernel's defaults; the hook decides it from the cgroup's current values)\n");
  if (p->n_policy > 0)
    {
      printf ("\npolicy:\n");
      for (size_t i = 0; i < p->n_policy; i++)
        printf ("  %s: %s: %s\n", p->policy[i].field, p->policy[i].option, p->policy[i].message);
    }
  print_notes ("notes", p->notes, p->n_notes);
  print_notes ("warnings", p->warnings, p->n_warnings);
  print_notes ("errors", p->errors, p->n_errors);
  if (p->n_errors > 0)
    printf ("\ninvalid: %zu error%s\n", p->n_errors, p->n_errors == 1 ? "" : "s");
  else
    printf ("\nvalid: %zu write%s, %zu warning%s\n", p->n_steps, p->n_steps == 1 ? "" : "s", p->n_warnings,
            p->n_warnings == 1 ? "" : "s");
}

static int
print_json (const char *config_path, const struct plan *p)
{
  cleanup_json struct json *j = plan_to_json (p);
  cleanup_error mh_error_t err = NULL;
  cleanup_free char *text = NULL;
  size_t len;

  if (j == NULL || json_object_set (j, "valid", json_new_bool (p->n_errors == 0), &err) < 0
      || json_object_set (j, "config", json_new_string (config_path), &err) < 0
      || json_serialize (j, &text, &len, &err) < 0)
    {
      fputs ("memhook: validate: out of memory\n", stderr);
      return 1;
    }
  fwrite (text, 1, len, stdout);
  if (len == 0 || text[len - 1] != '\n')
    putchar ('\n');
  return 0;
}

static int
report_error (mh_error_t err)
{
  char text[4096];

  fprintf (stderr, "memhook: validate: %s\n", mh_error_text (err, text, sizeof text));
  return 1;
}

int
cmd_validate (int argc, char **argv)
{
  struct validate_args a = { .cgroup = "auto" };
  struct options opts = { 0 };
  struct oci_config config = { 0 };
  struct plan plan = { 0 };
  cleanup_error mh_error_t err = NULL;
  cleanup_free char *path = NULL;
  char how[512];
  enum cg_version version;
  int ret;

  ret = parse_args (argc, argv, &a);
  if (ret >= 0)
    return ret;
  if (options_resolve (&a.cli, NULL, &opts, &err) < 0)
    {
      report_error (err);
      /* a bad value on our own command line is a usage error; one from
       * the environment or the config file is the host's failure */
      return strncmp (err->msg ? err->msg : "", "--", 2) == 0 ? 2 : 1;
    }
  if (a.config != NULL)
    path = strdup (a.config);
  else if (asprintf (&path, "%s/config.json", a.bundle ? a.bundle : ".") < 0)
    path = NULL;
  if (path == NULL)
    {
      fputs ("memhook: validate: out of memory\n", stderr);
      ret = 1;
      goto out;
    }
  if (oci_config_load (path, &config, &err) < 0)
    {
      if (err != NULL && err->errnum == ENOENT)
        mh_error_make (&err, 0, "%s: no such file; give --bundle DIR holding a config.json, or --config FILE",
                       path);
      ret = report_error (err);
      goto out;
    }
  ret = cgroup_version (a.cgroup, &version, how, sizeof how);
  if (ret != 0)
    goto out;

  struct plan_input in; /* current unknown: nothing is read, the kernel's defaults */

  plan_input_init (&in, &config, version, &opts);
  if (plan_build (&in, &plan, &err) < 0)
    {
      ret = report_error (err);
      goto out;
    }
  if (a.json)
    ret = print_json (path, &plan);
  else
    print_human (path, how, &plan);
  if (ret == 0 && plan.n_errors > 0)
    ret = 1;
out:
  plan_free (&plan);
  oci_config_free (&config);
  options_free (&opts);
  return ret;
}
