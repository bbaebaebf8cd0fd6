/* rawini: the raw-PDU iSCSI initiator under the fault tests (tests/tools/iscsi-raw.c,
 * iscsi-robust.c) and the light benchmark client (bench/iscsi-blast.c). It speaks through the
 * product's own codec (src/fabric/iscsi/pdu.c: struct iscsi_pdu_hdr, digests) and CRC32C
 * (src/util/crc32c.c), so a test initiator and the target can never disagree about a field's
 * place; what a scenario gets wrong it gets wrong on purpose, through the hooks below.
 *
 * Blocking and single-threaded per struct rawini: connect, log in (any stage, keys as given,
 * digests from the target's answer), send and receive PDUs (target NOP-In pings answered on the
 * way, digests checked), SCSI Command and Data-Out helpers, log out. */
#ifndef INVAR_TESTS_TOOLS_RAWINI_H
#define INVAR_TESTS_TOOLS_RAWINI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fabric/iscsi/pdu.h"

/* rawini_send(..., bad): digests sent wrong on purpose. */
#define RAWINI_BAD_HDIGEST 1u
#define RAWINI_BAD_DDIGEST 2u

#define RAWINI_TEXT_MAX 4096

struct rawini;

/* Called with every encoded BHS just before its header digest is computed and it is sent: a
 * hostile-PDU scenario may change any byte. */
typedef void (*rawini_tamper_fn)(struct rawini *ri, uint8_t bhs[ISCSI_BHS_LEN], void *arg);

struct rawini {
	int fd;
	uint8_t isid[6];
	uint16_t tsih;			/* sent in logins; the target's after a login */
	uint8_t lun[8];			/* LUN field of commands (rawini_set_lun) */
	uint32_t itt, cmdsn, expstatsn, maxcmdsn;
	bool hdigest, ddigest;		/* in force (from full feature phase on) */
	unsigned target_digest_errors;	/* received PDUs whose digest was wrong */
	uint32_t max_data;		/* longest data segment rawini_recv accepts */
	/* The login: status (class << 8 | detail) and what the target answered, RFC 7143
	 * defaults until it says otherwise. */
	uint16_t login_status;
	uint32_t max_burst, first_burst, t_mrdsl;
	bool immediate_data;
	bool want_hdigest, want_ddigest;	/* the target answered CRC32C */
	char auth_method[32];		/* the target's AuthMethod answer, "" if none */
	rawini_tamper_fn tamper;
	void *tamper_arg;
};

/* A received PDU: its header decoded, its bytes, its data segment (NUL-terminated). */
struct rawini_pdu {
	struct iscsi_pdu_hdr h;
	uint8_t bhs[ISCSI_BHS_LEN];
	uint8_t *data;
	uint32_t len;
};

/* Login text: NUL-separated key=value pairs (RFC 7143 6.1). */
struct rawini_text {
	char buf[RAWINI_TEXT_MAX];
	size_t len;
};

void rawini_init(struct rawini *ri);
/* 32 bits of ISID qualifier after type 01b ("random", RFC 7143 11.12.5), as the tools use. */
void rawini_set_isid32(struct rawini *ri, uint32_t qualifier);
void rawini_set_lun(struct rawini *ri, uint64_t lun);

/* TCP to host:port, Nagle off. 0 or -1. */
int rawini_connect(struct rawini *ri, const char *host, const char *port);
void rawini_close(struct rawini *ri);

/* Socket helpers: all of buf (waiting at most 10 s at a time for room); 0 or -1. */
int rawini_write_all(int fd, const void *buf, size_t len);
/* 0, -1 closed or error, -2 timed out (timeout_ms per wait for more bytes). */
int rawini_read_all(int fd, void *buf, size_t len, int timeout_ms);

/* Encodes h (its data_len becomes len), lets the tamper hook at it, sends it with the digests in
 * force (bad: RAWINI_BAD_*) and the data segment padded. 0 or -1. */
int rawini_send(struct rawini *ri, const struct iscsi_pdu_hdr *h, const void *data, uint32_t len,
		unsigned bad);
/* The same for a BHS given as bytes (DataSegmentLength set from len). */
int rawini_send_bhs(struct rawini *ri, uint8_t bhs[ISCSI_BHS_LEN], const void *data,
		    uint32_t len, unsigned bad);
/* The next PDU, target pings answered and skipped, digests checked, sequence numbers noted.
 * 0, -1 closed (or a PDU over max_data), -2 timed out. p->data is replaced (free it with
 * rawini_pdu_free). */
int rawini_recv(struct rawini *ri, struct rawini_pdu *p, int timeout_ms);
void rawini_pdu_free(struct rawini_pdu *p);

/* Sequence numbers from a target PDU (RFC 7143 4.2.2): ExpStatSN acknowledges each StatSN that
 * advanced; a ping's StatSN did not; MaxCmdSN only widens, and a MaxCmdSN below ExpCmdSN - 1 is
 * ignored (4.2.2.1). */
void rawini_note_sn(struct rawini *ri, const struct iscsi_pdu_hdr *h);
/* The NOP-Out answering a target ping (RFC 7143 11.18: immediate, ITT reserved, TTT and LUN
 * copied). */
void rawini_nop_reply(const struct rawini *ri, const struct iscsi_pdu_hdr *nop_in,
		      struct iscsi_pdu_hdr *out);

/* Text building: a printf-formatted key=value; a default key=value added only when none of
 * over[0..n) names the same key. */
void rawini_text_add(struct rawini_text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void rawini_text_add_default(struct rawini_text *t, const char *kv, const char *const *over,
			     unsigned n);
/* The value of key in a text segment, or NULL. */
const char *rawini_text_value(const uint8_t *text, uint32_t len, const char *key);

/* One login stage, CSG -> NSG with T set, repeated with no text up to rounds times until the
 * target transits (RFC 7143 11.12): ITT ri->itt, the negotiated values read from every answer.
 * Returns 1 when the target moved to nsg, 0 when it refused (ri->login_status) or did not move,
 * -1 when the connection failed or something else than a Login Response came. The digests the
 * target agreed to are in force once it moved to full feature phase. */
int rawini_login_stage(struct rawini *ri, unsigned csg, unsigned nsg, const void *text,
		       size_t len, unsigned rounds);
/* Logout (close the session), waits for the response, closes the socket. 0 when the target
 * answered "closed successfully". */
int rawini_logout(struct rawini *ri, int timeout_ms);

/* SCSI Command (RFC 7143 11.3) for ri->lun: flags ISCSI_FLAG_FINAL / _CMD_READ / _CMD_WRITE,
 * task attribute SIMPLE, CDB of 16 bytes, imm_len bytes of immediate data. */
void rawini_cmd_hdr(const struct rawini *ri, struct iscsi_pdu_hdr *h, uint32_t itt,
		    uint32_t cmdsn, uint8_t flags, const uint8_t cdb[16], uint32_t edtl);
int rawini_send_cmd(struct rawini *ri, uint32_t itt, uint32_t cmdsn, uint8_t flags,
		    const uint8_t cdb[16], uint32_t edtl, const void *imm, uint32_t imm_len,
		    unsigned bad);
/* SCSI Data-Out (RFC 7143 11.7). */
void rawini_data_out_hdr(const struct rawini *ri, struct iscsi_pdu_hdr *h, uint32_t itt,
			 uint32_t ttt, uint32_t datasn, uint32_t offset, bool final);
int rawini_send_data_out(struct rawini *ri, uint32_t itt, uint32_t ttt, uint32_t datasn,
			 uint32_t offset, const void *data, uint32_t len, bool final, unsigned bad);
/* READ(10)/WRITE(10) CDB (SBC-3 5.11, 5.35). */
void rawini_cdb_rw10(uint8_t cdb[16], uint8_t op, uint32_t lba, uint16_t blocks);

#endif
