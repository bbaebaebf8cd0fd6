/* Renders the command table for people: the README's list of supported commands is this
 * function's output (`invard --list-commands`), so documentation and dispatch cannot drift. */
#include "scsi/cmdlist.h"

#include <string.h>

#include "scsi/dispatch.h"
#include "scsi/profile.h"

#define CMDLIST_MAX_PROFILES 16

struct cmdlist_ctx {
	FILE *out;
	const struct scsi_profile *profiles[CMDLIST_MAX_PROFILES];
	unsigned nprofiles;
	/* Scratch for one command: whether a profile includes it. */
	uint8_t opcode;
	uint16_t sa;
	bool found;
};

static void cmdlist_add_profile(const struct scsi_profile *p, void *arg)
{
	struct cmdlist_ctx *c = arg;

	if (c->nprofiles < CMDLIST_MAX_PROFILES)
		c->profiles[c->nprofiles++] = p;
}

static void cmdlist_match(uint8_t opcode, uint16_t sa, const char *name, void *arg)
{
	struct cmdlist_ctx *c = arg;

	if (opcode == c->opcode && sa == c->sa)
		c->found = true;
}

static void cmdlist_row(const struct scsi_cmd *cmd, void *arg)
{
	struct cmdlist_ctx *c = arg;
	unsigned i;

	fprintf(c->out, "| %02Xh |", cmd->opcode);
	if (cmd->sa == SCMD_NO_SA)
		fprintf(c->out, "     |");
	else
		fprintf(c->out, " %02Xh |", cmd->sa);
	fprintf(c->out, " %s |", cmd->name);
	for (i = 0; i < c->nprofiles; i++) {
		c->opcode = cmd->opcode;
		c->sa = cmd->sa;
		c->found = false;
		scsi_profile_cmd_foreach(c->profiles[i], cmdlist_match, c);
		fprintf(c->out, " %s |", c->found ? "yes" : "-");
	}
	fputc('\n', c->out);
}

void scsi_cmdlist_markdown(FILE *out)
{
	struct cmdlist_ctx c;
	unsigned i;

	memset(&c, 0, sizeof(c));
	c.out = out;
	scsi_profile_foreach(cmdlist_add_profile, &c);
	fprintf(out, "| opcode | service action | command |");
	for (i = 0; i < c.nprofiles; i++)
		fprintf(out, " %s%s |", c.profiles[i]->name,
			c.profiles[i]->draft ? " (draft)" : "");
	fprintf(out, "\n|---|---|---|");
	for (i = 0; i < c.nprofiles; i++)
		fprintf(out, "---|");
	fputc('\n', out);
	scsi_cmd_foreach(cmdlist_row, &c);
}
