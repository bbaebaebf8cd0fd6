/* The supported-command table as Markdown, generated from the dispatch table and profiles. */
#ifndef INVAR_SCSI_CMDLIST_H
#define INVAR_SCSI_CMDLIST_H

#include <stdio.h>

/* One row per command in the dispatch table, one column per profile saying whether an LU pinned
 * to that profile supports it. */
void scsi_cmdlist_markdown(FILE *out);

#endif
