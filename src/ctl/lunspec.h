/* Parsing and checking what describes a LU, shared by `invard --lun`, `invarctl lun add`, the
 * RPC lun_add method and the config loader, so every entry point accepts exactly the same
 * values and rejects the rest with the same messages. */
#ifndef INVAR_CTL_LUNSPEC_H
#define INVAR_CTL_LUNSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scsi/lu.h"

/* "512", "64M", "1G", "1GiB", "10T": binary units K M G T P E (case-insensitive), optionally
 * followed by "iB". Returns 0 or -EINVAL (garbage) / -ERANGE (overflow). */
int ctl_size_parse(const char *s, uint64_t *out);
/* Formats bytes with the largest binary unit that divides it exactly ("1GiB", "1536KiB", "7"). */
void ctl_size_format(uint64_t bytes, char *out, size_t out_len);

/* NAA designator as hex: 16 hex digits (NAA 2, 3 or 5: 8 bytes) or 32 (NAA 6: 16 bytes). An
 * optional "0x" prefix is accepted. Returns 0 or -EINVAL with a reason in err. */
int ctl_naa_parse(const char *hex, uint8_t naa[16], unsigned *naa_len, char *err, size_t err_len);
/* Lower-case hex without prefix; out needs 33 bytes. */
void ctl_naa_format(const uint8_t *naa, unsigned naa_len, char *out, size_t out_len);

/* Field setters with the same checks everywhere. Each returns 0 or -EINVAL with a reason. */
int ctl_lu_set_backstore(struct lu_config *cfg, const char *type, char *err, size_t err_len);
int ctl_lu_set_path(struct lu_config *cfg, const char *path, char *err, size_t err_len);
int ctl_lu_set_serial(struct lu_config *cfg, const char *serial, char *err, size_t err_len);
int ctl_lu_set_block_size(struct lu_config *cfg, uint64_t bs, char *err, size_t err_len);
int ctl_lu_set_profile(struct lu_config *cfg, const char *profile, char *err, size_t err_len);
/* A boolean option (readonly, removable): "1"/"yes"/"true" or "0"/"no"/"false". */
int ctl_lu_set_flag(bool *flag, const char *name, const char *val, char *err, size_t err_len);

/* Whole-config checks that need every field: backstore known, path only and always for file,
 * size given for ram/null, size a multiple of the block size. */
int ctl_lu_config_check(const struct lu_config *cfg, char *err, size_t err_len);

/* Parses a LUN spec:
 *   ram:SIZE | null:SIZE | file:PATH[,size=SIZE] | user:NAME,size=SIZE
 *   | rbd:POOL/IMAGE[,conf=PATH][,id=CLIENT][,namespace=NS][,timeout=S] (the rbd options are
 *   kept in the path, canonically ordered: backstore/rbd/rbd_spec.h)
 *   followed by any of ,serial=S ,naa=HEX ,block_size=512|4096 ,profile=NAME ,readonly=0|1
 *   ,removable=0|1 (and ,size=SIZE)
 * PATH may not contain ','. Fills *cfg (zeroed first). Returns 0 or -EINVAL with a reason. */
int lunspec_parse(const char *spec, struct lu_config *cfg, char *err, size_t err_len);

/* Normalizes a portal address: "ADDR:PORT", "[V6]:PORT", or an address alone (port 3260). The
 * address must be numeric (IPv4 dotted quad or IPv6). Writes the canonical "ADDR:PORT" /
 * "[V6]:PORT" form. Returns 0 or -EINVAL with a reason. */
int ctl_portal_normalize(const char *in, char *out, size_t out_len, char *err, size_t err_len);

#endif
