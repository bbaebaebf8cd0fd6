/* The wire side of ALUA (SPC-4 5.15): REPORT TARGET PORT GROUPS parameter data. Separate from
 * the command code so the encoder is tested byte by byte. Private to src/scsi. */
#ifndef INVAR_SCSI_ALUA_H
#define INVAR_SCSI_ALUA_H

#include <stdbool.h>
#include <stdint.h>

/* One target port group as REPORT TARGET PORT GROUPS describes it. invar has one target port
 * per group, so each carries exactly one relative target port identifier. */
struct alua_rtpg_group {
	uint16_t id;			/* TARGET PORT GROUP */
	uint8_t state;			/* enum alua_state */
	uint8_t status;			/* ALUA_STATUS_* */
	uint16_t rel_port;		/* RELATIVE TARGET PORT IDENTIFIER */
};

#define RTPG_HDR_LEN 4			/* length-only header */
#define RTPG_EXT_HDR_LEN 8		/* extended header (PARAMETER DATA FORMAT 001b) */
#define RTPG_DESC_LEN 8			/* target port group descriptor, without its ports */
#define RTPG_PORT_LEN 4			/* target port descriptor */

/* Encodes the parameter data for n groups into buf. Writes at most cap bytes and returns the
 * full length (the caller truncates to the allocation length). RETURN DATA LENGTH counts every
 * byte after itself in both formats. */
unsigned alua_rtpg_encode(uint8_t *buf, unsigned cap, bool extended, uint8_t transition_secs,
			  const struct alua_rtpg_group *g, unsigned n);

#endif
