/*
 * "cachectl sessions import-mongo URI": connect-mongo's sessions into
 * connect-redis keys (cachectl_import.c).
 */

#ifndef CACHECTL_IMPORT_H
#define CACHECTL_IMPORT_H

#include "cachectl_conf.h"


/*
 * conf->args[2] is the URI ("-": its first line on stdin). Exit status:
 * 0 every document read was imported or skipped (expired, already in
 * Redis, revoked); 1 a failure (MongoDB or Redis unreachable, refused,
 * no such collection, a cursor that broke) or documents that are not
 * connect-mongo's (counted, named on stderr, left where they are);
 * 2 usage (a URI mongoc cannot parse).
 */
int cachectl_import_mongo(cachectl_conf_t *conf);


#endif /* CACHECTL_IMPORT_H */
