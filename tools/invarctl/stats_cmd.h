/* invarctl stats and top (stats_cmd.c). */
#ifndef INVAR_TOOLS_INVARCTL_STATS_CMD_H
#define INVAR_TOOLS_INVARCTL_STATS_CMD_H

#include "client.h"

int cmd_stats(const struct ctl *c, const char *verb, int argc, char **argv);
int cmd_top(const struct ctl *c, const char *verb, int argc, char **argv);

#endif
