/* Sizes shared by every layer. */
#ifndef INVAR_SCSI_LIMITS_H
#define INVAR_SCSI_LIMITS_H

#define INVAR_NAME_MAX 223	   /* iSCSI name, RFC 7143 4.2.7.1 */
#define INVAR_SERIAL_MAX 64	   /* unit serial number (VPD 0x80) */
#define INVAR_MAX_LUNS 256	   /* LUNs per target (flat addressing 0..255) */
#define SCSI_CDB_MAX 260	   /* 16 in the BHS + up to 244 in an extended-CDB AHS */
#define SCSI_SENSE_MAX 96	   /* sense buffer (descriptor sense may be longer than 18) */
#define INVAR_DEFAULT_PORT 3260

#endif
