/*
 * core/help.h - `syncengine plugins`: listing plugins and documenting their
 * options from their option tables (text, or Markdown for docs/plugins/).
 */
#ifndef SYNCC_HELP_H
#define SYNCC_HELP_H

#include <stddef.h>
#include <stdio.h>

/* Returns the exit code: SYNCC_EXIT_PLUGIN when a file failed to load or NAME is unknown. */
int syncc_help_plugins(const char *const *dirs, size_t n_dirs, const char *describe, int markdown);

/* The overview: every command's synopsis, the options and the exit codes. */
void syncc_help_usage(FILE *out);
/* COMMAND's help (NULL: the overview).  SYNCC_EXIT_USAGE for an unknown command. */
int syncc_help_command(FILE *out, const char *command);
/*
 * Prints man page PAGE ("syncengine", "syncengine.ini", "syncengine-plugin") as
 * roff on stdout.  syncengine.ini(5) documents the plugins found in dirs only.
 */
int syncc_help_man(const char *page, const char *const *dirs, size_t n_dirs);

#endif /* SYNCC_HELP_H */
