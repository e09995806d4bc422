/*
 * core/describe_cmd.h - `syncengine describe`, `syncengine map --suggest`
 * and `syncengine templates`: what the servers say about an object (through
 * the plugin's ABI 1.3 describe op), a mapping proposed from it, and the
 * shipped mapping templates.
 */
#ifndef SYNCC_DESCRIBE_CMD_H
#define SYNCC_DESCRIBE_CMD_H

#include <jansson.h>

#include "engine.h"

/* describe INSTANCE [OBJECT] [--json]: returns the exit code. */
int syncc_describe_command(syncc_engine *e, const char *instance, const char *object, int json);

/*
 * The plugin's describe of object (NULL: the list of objects) on instance in,
 * opened for it alone.  *out receives the parsed document.  SYNC_E_UNSUPPORTED
 * when the plugin cannot describe; the message in err.
 */
int syncc_describe_fetch(syncc_engine *e, const syncc_instance *in, const char *object, json_t **out, char *err,
                         size_t errlen);

/* map --suggest STREAM: prints a proposed [map] section; returns the exit code. */
int syncc_map_suggest_command(syncc_engine *e, const char *stream);

#endif /* SYNCC_DESCRIBE_CMD_H */
