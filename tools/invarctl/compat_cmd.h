/* invarctl's local (daemon-less) compat command. */
#ifndef INVAR_TOOLS_INVARCTL_COMPAT_CMD_H
#define INVAR_TOOLS_INVARCTL_COMPAT_CMD_H

/* compat check SRC DST. Returns the exit status. */
int invarctl_compat_check(const char *src_path, const char *dst_path);

#endif
