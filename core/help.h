/*
 * core/help.h - `syncengine plugins`: listing plugins and documenting their
 * options from their option tables (text, or Markdown for docs/plugins/).
 */
#ifndef SYNCC_HELP_H
#define SYNCC_HELP_H

#include <stddef.h>

/* Returns the exit code: SYNCC_EXIT_PLUGIN when a file failed to load or NAME is unknown. */
int syncc_help_plugins(const char *const *dirs, size_t n_dirs, const char *describe, int markdown);

#endif /* SYNCC_HELP_H */
