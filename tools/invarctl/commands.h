/* invarctl's commands as one table: NOUN VERB ARGS..., each row with its synopsis, its help
 * and its handler. main.c parses the options, finds the row and checks the argument count;
 * --help prints the table. A new command is one row and one handler. */
#ifndef INVAR_TOOLS_INVARCTL_COMMANDS_H
#define INVAR_TOOLS_INVARCTL_COMMANDS_H

#include "client.h"

struct ctl_cmd {
	const char *noun;
	const char *verbs;	/* "add|delete": the verbs this row takes; NULL: the noun alone */
	const char *synopsis;	/* as --help shows it, noun and verb included */
	const char *help;	/* one line or more ("\n"), or NULL */
	int min_args, max_args;	/* after noun and verb; max -1: any number */
	/* verb as typed (NULL for a noun alone), args after it. Returns the exit status: 0, 1
	 * (the daemon refused or could not be reached), 2 (usage). */
	int (*run)(const struct ctl *c, const char *verb, int argc, char **argv);
};

extern const struct ctl_cmd ctl_cmds[];
extern const unsigned ctl_ncmds;

#endif
