/* invarctl's local (daemon-less) compat command. */
#ifndef INVAR_TOOLS_INVARCTL_COMPAT_CMD_H
#define INVAR_TOOLS_INVARCTL_COMPAT_CMD_H

/* argv: "check", SRC, DST. Returns the exit status. */
int invarctl_compat(int argc, char **argv);

#endif
