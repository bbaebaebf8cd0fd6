/* pr_tool: drive PERSISTENT RESERVE IN/OUT over iSCSI with libiscsi, for integration tests
 * (sg3-utils cannot speak iSCSI). Fixed ISID so a registration made before a daemon restart
 * belongs to the same initiator port after it.
 *
 *   pr_tool URL INITIATOR register KEY [aptpl]   REGISTER AND IGNORE EXISTING KEY
 *   pr_tool URL INITIATOR unregister KEY         REGISTER with SARK 0
 *   pr_tool URL INITIATOR reserve|release KEY TYPE
 *   pr_tool URL INITIATOR read-keys              "generation G" then "key 0x..." per key
 *   pr_tool URL INITIATOR read-resv              "none" or "key 0x... type T"
 *   pr_tool URL INITIATOR write                  WRITE(10) of LBA 0
 *   pr_tool URL INITIATOR reserve6|release6      SPC-2 RESERVE(6) / RELEASE(6)
 *   pr_tool URL INITIATOR lun-reset              LOGICAL UNIT RESET (prints the TMF response)
 *
 * Prints "GOOD", "RESERVATION CONFLICT" or "CHECK CONDITION KEY/ASC+ASCQ" (hex) for commands
 * without data; exits 0 when the command ran (whatever its status), 1 on a usage or transport
 * error. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

static void print_status(struct iscsi_context *iscsi, struct scsi_task *t)
{
	if (t->status == SCSI_STATUS_GOOD)
		printf("GOOD\n");
	else if (t->status == SCSI_STATUS_RESERVATION_CONFLICT)
		printf("RESERVATION CONFLICT\n");
	else if (t->status == SCSI_STATUS_CHECK_CONDITION)
		printf("CHECK CONDITION %x/%04x\n", t->sense.key, t->sense.ascq);
	else
		printf("STATUS 0x%x %s\n", t->status, iscsi_get_error(iscsi));
}

static int usage(void)
{
	fprintf(stderr, "usage: pr_tool URL INITIATOR register KEY [aptpl] | unregister KEY | "
			"reserve KEY TYPE | release KEY TYPE | read-keys | read-resv | write\n");
	return 1;
}

int main(int argc, char **argv)
{
	struct scsi_persistent_reserve_out_basic po;
	struct iscsi_context *iscsi;
	struct iscsi_url *url;
	struct scsi_task *t = NULL;
	const char *cmd;
	int lun, ret = 1;

	if (argc < 4)
		return usage();
	cmd = argv[3];
	iscsi = iscsi_create_context(argv[2]);
	if (!iscsi)
		return 1;
	url = iscsi_parse_full_url(iscsi, argv[1]);
	if (!url) {
		fprintf(stderr, "pr_tool: %s\n", iscsi_get_error(iscsi));
		goto out_ctx;
	}
	iscsi_set_targetname(iscsi, url->target);
	iscsi_set_session_type(iscsi, ISCSI_SESSION_NORMAL);
	iscsi_set_isid_random(iscsi, 0x1e4a5, 0x1);
	lun = url->lun;
	if (iscsi_full_connect_sync(iscsi, url->portal, lun) != 0) {
		fprintf(stderr, "pr_tool: login: %s\n", iscsi_get_error(iscsi));
		goto out_url;
	}
	/* The first command of a new nexus reports POWER ON; clear it. */
	for (int i = 0; i < 8; i++) {
		struct scsi_task *tur = iscsi_testunitready_sync(iscsi, lun);
		int good = tur && tur->status == SCSI_STATUS_GOOD;

		if (tur)
			scsi_free_scsi_task(tur);
		if (good)
			break;
	}
	memset(&po, 0, sizeof(po));
	if (!strcmp(cmd, "register") && argc >= 5) {
		po.service_action_reservation_key = strtoull(argv[4], NULL, 0);
		po.aptpl = argc >= 6 && !strcmp(argv[5], "aptpl");
		t = iscsi_persistent_reserve_out_sync(
			iscsi, lun, SCSI_PERSISTENT_RESERVE_REGISTER_AND_IGNORE_EXISTING_KEY, 0, 0, &po);
	} else if (!strcmp(cmd, "unregister") && argc >= 5) {
		po.reservation_key = strtoull(argv[4], NULL, 0);
		t = iscsi_persistent_reserve_out_sync(iscsi, lun, SCSI_PERSISTENT_RESERVE_REGISTER,
						      0, 0, &po);
	} else if ((!strcmp(cmd, "reserve") || !strcmp(cmd, "release")) && argc >= 6) {
		po.reservation_key = strtoull(argv[4], NULL, 0);
		t = iscsi_persistent_reserve_out_sync(
			iscsi, lun,
			!strcmp(cmd, "reserve") ? SCSI_PERSISTENT_RESERVE_RESERVE
						: SCSI_PERSISTENT_RESERVE_RELEASE,
			0, (int)strtoul(argv[5], NULL, 0), &po);
	} else if (!strcmp(cmd, "read-keys") || !strcmp(cmd, "read-resv")) {
		bool keys = !strcmp(cmd, "read-keys");

		t = iscsi_persistent_reserve_in_sync(iscsi, lun,
						     keys ? SCSI_PERSISTENT_RESERVE_READ_KEYS
							  : SCSI_PERSISTENT_RESERVE_READ_RESERVATION,
						     16384);
		if (t && t->status == SCSI_STATUS_GOOD) {
			void *d = scsi_datain_unmarshall(t);

			if (!d) {
				fprintf(stderr, "pr_tool: cannot decode PR IN data\n");
				goto out_task;
			}
			if (keys) {
				struct scsi_persistent_reserve_in_read_keys *rk = d;

				printf("generation %" PRIu32 "\n", rk->prgeneration);
				for (int i = 0; i < rk->num_keys; i++)
					printf("key 0x%016" PRIx64 "\n", rk->keys[i]);
			} else {
				struct scsi_persistent_reserve_in_read_reservation *rr = d;

				if (rr->reserved)
					printf("key 0x%016" PRIx64 " type %u\n",
					       rr->reservation_key, rr->pr_type);
				else
					printf("none\n");
			}
			ret = 0;
			goto out_task;
		}
	} else if (!strcmp(cmd, "reserve6")) {
		t = iscsi_reserve6_sync(iscsi, lun);
	} else if (!strcmp(cmd, "release6")) {
		t = iscsi_release6_sync(iscsi, lun);
	} else if (!strcmp(cmd, "lun-reset")) {
		int r = iscsi_task_mgmt_lun_reset_sync(iscsi, lun);

		printf(r == 0 ? "TMF COMPLETE\n" : "TMF FAILED %d\n", r);
		ret = r == 0 ? 0 : 1;
		goto out_logout;
	} else if (!strcmp(cmd, "write")) {
		unsigned char buf[512] = { 0 };

		t = iscsi_write10_sync(iscsi, lun, 0, buf, sizeof(buf), 512, 0, 0, 0, 0, 0);
	} else {
		usage();
		goto out_logout;
	}
	if (!t) {
		fprintf(stderr, "pr_tool: %s: %s\n", cmd, iscsi_get_error(iscsi));
		goto out_logout;
	}
	print_status(iscsi, t);
	ret = 0;
out_task:
	if (t)
		scsi_free_scsi_task(t);
out_logout:
	iscsi_logout_sync(iscsi);
	iscsi_disconnect(iscsi);
out_url:
	iscsi_destroy_url(url);
out_ctx:
	iscsi_destroy_context(iscsi);
	return ret;
}
