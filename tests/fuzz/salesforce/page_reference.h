/*
 * page_reference.h - the tree-based reference reader for query pages (see
 * page_reference.c), with sf_page_load()'s contract.
 */
#ifndef PAGE_REFERENCE_H
#define PAGE_REFERENCE_H

#include "salesforce/sf_page.h"

int ref_page_load(sync_ctx *ctx, const sf_page_spec *spec, const char *text, size_t len,
                  sync_emitter *em, sf_page_result *res);

#endif /* PAGE_REFERENCE_H */
