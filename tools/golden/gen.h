/* The CDB list a new golden corpus is recorded from (gen.c). */
#ifndef INVAR_TOOLS_GOLDEN_GEN_H
#define INVAR_TOOLS_GOLDEN_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "corpus.h"

/* Appends every CDB, in sending order, for a fresh LU of num_blocks blocks of block_size
 * bytes; answers are left empty for the recorder to fill. Returns 0 or -1 (ENOMEM, or a LU too
 * small to hold the known data). */
int gen_corpus(struct g_corpus *c, uint32_t block_size, uint64_t num_blocks);

/* The profiles, seen from a file that cannot include invar's SCSI headers (their struct
 * scsi_task clashes with libiscsi's): fn gets each name and whether it is a draft. */
void gen_profile_foreach(void (*fn)(const char *name, bool draft, void *arg), void *arg);
/* 1 draft, 0 released, -1 unknown. */
int gen_profile_is_draft(const char *name);

#endif
