#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/ (checked in; rerun after a protocol change).

The fuzz_conn seeds are what an initiator sends on one connection: a login written PDU by PDU
as open-iscsi/libiscsi do it, then SCSI commands (INQUIRY, READ(10), WRITE(10) with immediate,
unsolicited and R2T-solicited data...), TMF, NOP, text and logout. The target transfer tags in
solicited Data-Out match fuzz_conn.c's fixed descriptor (200): the first TTT is 200 << 16 | 1.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")

# --- CRC32C (Castagnoli), reflected, as RFC 7143 13.1 digests use it ---
_T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    _T.append(c)


def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c = _T[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def pad(b):
    return b + b"\0" * ((4 - len(b) % 4) % 4)


TARGET = "iqn.2026-01.org.invar:fuzz"
INITIATOR = "iqn.2026-01.org.invar:fuzz-initiator"
ISID = bytes([0x80, 0x12, 0x34, 0x56, 0x00, 0x01])
FIRST_TTT = 200 << 16 | 1


def keys(**kv):
    return b"".join(("%s=%s" % (k, v)).encode() + b"\0" for k, v in kv.items())


class Conn:
    def __init__(self, hdigest=False, ddigest=False):
        self.out = b""
        self.hd = False
        self.dd = False
        self.want_hd, self.want_dd = hdigest, ddigest
        self.cmdsn = 1
        self.statsn = 0
        self.itt = 0x10

    def pdu(self, bhs, data=b"", ahs=b""):
        assert len(bhs) == 48
        bhs = bytearray(bhs)
        bhs[4] = len(ahs) // 4
        bhs[5:8] = struct.pack(">I", len(data))[1:]
        b = bytes(bhs) + ahs
        if self.hd:
            b += struct.pack("<I", crc32c(bytes(bhs) + ahs))
        if data:
            b += pad(data)
            if self.dd:
                b += struct.pack("<I", crc32c(pad(data)))
        self.out += b

    def login(self, flags, data, itt=1, cmdsn=1, isid=ISID, tsih=0, vmin=0):
        bhs = bytearray(48)
        bhs[0] = 0x43
        bhs[1] = flags
        bhs[3] = vmin
        bhs[8:14] = isid
        bhs[14:16] = struct.pack(">H", tsih)
        bhs[16:20] = struct.pack(">I", itt)
        bhs[20:22] = struct.pack(">H", 0)  # CID
        bhs[24:28] = struct.pack(">I", cmdsn)
        bhs[28:32] = struct.pack(">I", 0)
        self.pdu(bhs, data)

    def full_login(self, security=True, target=TARGET, discovery=False, **extra):
        names = {"InitiatorName": INITIATOR, "SessionType": "Discovery" if discovery else "Normal"}
        if not discovery:
            names["TargetName"] = target
        op = {
            "HeaderDigest": "CRC32C,None" if self.want_hd else "None",
            "DataDigest": "CRC32C,None" if self.want_dd else "None",
            "MaxRecvDataSegmentLength": "262144",
            "InitialR2T": "No",
            "ImmediateData": "Yes",
            "MaxBurstLength": "262144",
            "FirstBurstLength": "65536",
            "MaxOutstandingR2T": "1",
            "ErrorRecoveryLevel": "0",
            "MaxConnections": "1",
            "DefaultTime2Wait": "2",
            "DefaultTime2Retain": "0",
            "DataPDUInOrder": "Yes",
            "DataSequenceInOrder": "Yes",
        }
        op.update(extra)
        if security:
            # CSG 0 -> NSG 1 (T), then CSG 1 -> NSG 3 (T).
            self.login(0x80 | 0 << 2 | 1, keys(**names, AuthMethod="None"))
            self.login(0x80 | 1 << 2 | 3, keys(**op))
        else:
            self.login(0x80 | 1 << 2 | 3, keys(**names, **op))
        self.hd, self.dd = self.want_hd, self.want_dd

    def next_itt(self):
        self.itt += 1
        return self.itt

    def scsi(self, cdb, edtl=0, read=False, write=False, data=b"", final=True, lun=0,
             immediate=False, cmdsn=None, ahs=b"", itt=None):
        bhs = bytearray(48)
        bhs[0] = 0x01 | (0x40 if immediate else 0)
        bhs[1] = (0x80 if final else 0) | (0x40 if read else 0) | (0x20 if write else 0) | 1
        bhs[8:16] = struct.pack(">Q", lun << 48)
        itt = self.next_itt() if itt is None else itt
        bhs[16:20] = struct.pack(">I", itt)
        bhs[20:24] = struct.pack(">I", edtl)
        if cmdsn is None:
            cmdsn = self.cmdsn
            if not immediate:
                self.cmdsn += 1
        bhs[24:28] = struct.pack(">I", cmdsn)
        bhs[28:32] = struct.pack(">I", self.statsn)
        bhs[32:48] = cdb[:16].ljust(16, b"\0")
        self.pdu(bhs, data, ahs)
        return itt

    def data_out(self, itt, data, offset=0, datasn=0, ttt=0xFFFFFFFF, final=True, lun=0):
        bhs = bytearray(48)
        bhs[0] = 0x05
        bhs[1] = 0x80 if final else 0
        bhs[8:16] = struct.pack(">Q", lun << 48)
        bhs[16:20] = struct.pack(">I", itt)
        bhs[20:24] = struct.pack(">I", ttt)
        bhs[28:32] = struct.pack(">I", self.statsn)
        bhs[36:40] = struct.pack(">I", datasn)
        bhs[40:44] = struct.pack(">I", offset)
        self.pdu(bhs, data)

    def nop(self, data=b"", ttt=0xFFFFFFFF, itt=None):
        bhs = bytearray(48)
        bhs[0] = 0x40
        bhs[1] = 0x80
        bhs[16:20] = struct.pack(">I", self.next_itt() if itt is None else itt)
        bhs[20:24] = struct.pack(">I", ttt)
        bhs[24:28] = struct.pack(">I", self.cmdsn)
        self.pdu(bhs, data)

    def text(self, data, ttt=0xFFFFFFFF):
        bhs = bytearray(48)
        bhs[0] = 0x04
        bhs[1] = 0x80
        bhs[16:20] = struct.pack(">I", self.next_itt())
        bhs[20:24] = struct.pack(">I", ttt)
        bhs[24:28] = struct.pack(">I", self.cmdsn)
        self.cmdsn += 1
        self.pdu(bhs, data)

    def tmf(self, func, rtt=0xFFFFFFFF, refcmdsn=0, lun=0):
        bhs = bytearray(48)
        bhs[0] = 0x42
        bhs[1] = 0x80 | func
        bhs[8:16] = struct.pack(">Q", lun << 48)
        bhs[16:20] = struct.pack(">I", self.next_itt())
        bhs[20:24] = struct.pack(">I", rtt)
        bhs[24:28] = struct.pack(">I", self.cmdsn)
        bhs[32:36] = struct.pack(">I", refcmdsn)
        self.pdu(bhs)

    def logout(self, reason=0):
        bhs = bytearray(48)
        bhs[0] = 0x46
        bhs[1] = 0x80 | reason
        bhs[16:20] = struct.pack(">I", self.next_itt())
        bhs[24:28] = struct.pack(">I", self.cmdsn)
        self.pdu(bhs)


def cdb6(op, *rest):
    return bytes([op, *rest]).ljust(6, b"\0")


def read10(lba, n):
    return struct.pack(">BBIBHB", 0x28, 0, lba, 0, n, 0)


def write10(lba, n, fua=False):
    return struct.pack(">BBIBHB", 0x2A, 0x08 if fua else 0, lba, 0, n, 0)


def read16(lba, n):
    return struct.pack(">BBQIBB", 0x88, 0, lba, n, 0, 0)


def write16(lba, n):
    return struct.pack(">BBQIBB", 0x8A, 0, lba, n, 0, 0)


INQUIRY = bytes([0x12, 0, 0, 0, 96, 0])
INQUIRY_VPD83 = bytes([0x12, 1, 0x83, 0, 255, 0])
TUR = bytes(6)
READ_CAP10 = bytes(10).replace(b"\0", b"\x25", 1)
READ_CAP16 = bytes([0x9E, 0x10] + [0] * 8 + [0, 0, 0, 32] + [0, 0])
REPORT_LUNS = bytes([0xA0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0])
MODE_SENSE6 = bytes([0x1A, 0, 0x3F, 0, 255, 0])
SYNC10 = bytes([0x35] + [0] * 9)
BLOCK = bytes(range(256)) * 2


def conn_seeds():
    s = {}

    c = Conn()
    c.full_login()
    c.scsi(TUR)  # POWER ON unit attention
    c.scsi(INQUIRY, edtl=96, read=True)
    c.scsi(READ_CAP10, edtl=8, read=True)
    c.scsi(read10(0, 1), edtl=512, read=True)
    c.scsi(write10(1, 1), edtl=512, write=True, data=BLOCK)
    c.scsi(read10(1, 1), edtl=512, read=True)
    c.logout()
    s["login_inquiry_read_write"] = c.out

    # Solicited data: 2 blocks, no immediate data, InitialR2T=Yes: one R2T, TTT = first.
    c = Conn()
    c.full_login(security=False, InitialR2T="Yes", ImmediateData="No")
    c.scsi(TUR)
    itt = c.scsi(write10(4, 2), edtl=1024, write=True)
    c.data_out(itt, BLOCK, offset=0, ttt=FIRST_TTT, final=False)
    c.data_out(itt, BLOCK, offset=512, datasn=1, ttt=FIRST_TTT)
    c.scsi(read10(4, 2), edtl=1024, read=True)
    c.scsi(SYNC10)
    c.logout()
    s["write_r2t"] = c.out

    # Unsolicited Data-Out after immediate data (InitialR2T=No), then an R2T for the rest.
    c = Conn()
    c.full_login(security=False, FirstBurstLength="1024")
    c.scsi(TUR)
    itt = c.scsi(write10(0, 4), edtl=2048, write=True, data=BLOCK, final=False)
    c.data_out(itt, BLOCK, offset=512, datasn=0)
    c.data_out(itt, BLOCK, offset=1024, datasn=0, ttt=FIRST_TTT, final=False)
    c.data_out(itt, BLOCK, offset=1536, datasn=1, ttt=FIRST_TTT)
    c.scsi(read16(0, 4), edtl=2048, read=True)
    c.logout()
    s["write_unsolicited"] = c.out

    # Header and data digests.
    c = Conn(hdigest=True, ddigest=True)
    c.full_login()
    c.scsi(TUR)
    c.scsi(INQUIRY_VPD83, edtl=255, read=True)
    c.scsi(write10(2, 1), edtl=512, write=True, data=BLOCK)
    c.scsi(read10(2, 1), edtl=512, read=True)
    c.nop(b"ping")
    c.logout()
    s["digests"] = c.out

    # Discovery session.
    c = Conn()
    c.full_login(security=True, discovery=True)
    c.text(keys(SendTargets="All"))
    c.logout()
    s["discovery_sendtargets"] = c.out

    # Task management: abort a write waiting for R2T data, LUN reset, target warm reset.
    c = Conn()
    c.full_login(security=False, InitialR2T="Yes")
    c.scsi(TUR)
    itt = c.scsi(write10(0, 8), edtl=4096, write=True)
    c.tmf(1, rtt=itt, refcmdsn=c.cmdsn - 1)  # ABORT TASK
    c.tmf(5)  # LOGICAL UNIT RESET
    c.scsi(TUR)
    c.tmf(6)  # TARGET WARM RESET
    c.logout()
    s["tmf"] = c.out

    # Out-of-order CmdSN (held, then run), an immediate command, NOP-Out with data.
    c = Conn()
    c.full_login(security=False)
    c.scsi(TUR, cmdsn=2)
    c.scsi(TUR, cmdsn=1)
    c.cmdsn = 3
    c.scsi(REPORT_LUNS, edtl=256, read=True, immediate=True)
    c.nop(b"0123456789")
    c.scsi(MODE_SENSE6, edtl=255, read=True)
    c.logout()
    s["cmdsn_order"] = c.out

    # LUN 1 (null backstore), READ(16)/WRITE(16), READ CAPACITY(16), extended CDB AHS.
    c = Conn()
    c.full_login(security=False)
    c.scsi(TUR, lun=1)
    c.scsi(READ_CAP16, edtl=32, read=True, lun=1)
    c.scsi(write16(100, 1), edtl=512, write=True, data=BLOCK, lun=1)
    c.scsi(read16(100, 1), edtl=512, read=True, lun=1)
    ext = bytes(range(16, 32))
    ahs = struct.pack(">HBB", len(ext) + 1, 1, 0) + ext
    c.scsi(bytes([0x7F] + [0] * 15), edtl=0, ahs=pad(ahs), lun=1)
    c.scsi(INQUIRY, edtl=96, read=True, lun=5)  # unmapped LUN
    c.logout()
    s["lun1_null_ext_cdb"] = c.out

    # Login text split over two PDUs with Continue.
    c = Conn()
    text = keys(InitiatorName=INITIATOR, TargetName=TARGET, SessionType="Normal",
                HeaderDigest="None", DataDigest="None", ImmediateData="Yes")
    c.login(0x40 | 1 << 2, text[:20])
    c.login(0x80 | 1 << 2 | 3, text[20:])
    c.scsi(TUR)
    c.scsi(INQUIRY, edtl=96, read=True)
    c.logout()
    s["login_continue"] = c.out

    # Login failures: unknown target; unsupported version.
    c = Conn()
    c.login(0x80 | 1 << 2 | 3, keys(InitiatorName=INITIATOR, TargetName="iqn.2026-01.org.invar:nope"))
    s["login_no_target"] = c.out
    c = Conn()
    c.login(0x80 | 1 << 2 | 3, keys(InitiatorName=INITIATOR, TargetName=TARGET), vmin=1)
    s["login_bad_version"] = c.out
    return s


def cdb_record(cdb, flags=0, edtl=0, data=b""):
    full = cdb.ljust(16, b"\0")
    return (bytes([flags, len(full) - 16]) + struct.pack(">I", edtl)[1:] + full +
            struct.pack(">H", len(data)) + data)


def cdb_seeds():
    R, W = 1 << 3, 2 << 3
    s = {}
    s["ram512_basic"] = bytes([0]) + b"".join([
        cdb_record(TUR), cdb_record(TUR),
        cdb_record(INQUIRY, R, 96), cdb_record(INQUIRY_VPD83, R, 255),
        cdb_record(bytes([0x12, 1, 0x00, 0, 255, 0]), R, 255),
        cdb_record(bytes([0x12, 1, 0xB0, 0, 255, 0]), R, 255),
        cdb_record(READ_CAP10, R, 8), cdb_record(READ_CAP16, R, 32),
        cdb_record(write10(0, 1), W, 512, BLOCK), cdb_record(read10(0, 1), R, 512),
        cdb_record(MODE_SENSE6, R, 255), cdb_record(REPORT_LUNS, R, 256),
        cdb_record(SYNC10),
    ])
    s["ram4k_rw16"] = bytes([1]) + b"".join([
        cdb_record(TUR), cdb_record(write16(3, 1), W, 4096, BLOCK * 8),
        cdb_record(read16(3, 1), R, 4096), cdb_record(write10(63, 2), W, 8192),
    ])
    s["null_reserve"] = bytes([2]) + b"".join([
        cdb_record(TUR), cdb_record(TUR, 1), cdb_record(cdb6(0x16)),
        cdb_record(read10(0, 1), R | 1, 512), cdb_record(cdb6(0x17)),
        cdb_record(bytes([0x1B, 0, 0, 0, 0, 0])), cdb_record(read10(0, 1), R, 512),
        cdb_record(bytes([0x1B, 0, 0, 0, 1, 0])),
    ])
    # MODE SELECT(6) of the caching page (WCE off), then MODE SENSE of it.
    page = bytes([0x08, 0x12, 0x00] + [0] * 17)
    param = bytes([0, 0, 0, 0]) + page
    s["mode_select"] = bytes([0]) + b"".join([
        cdb_record(TUR),
        cdb_record(bytes([0x15, 0x10, 0, 0, len(param), 0]), W, len(param), param),
        cdb_record(bytes([0x1A, 0, 0x08, 0, 255, 0]), R, 255),
        cdb_record(bytes([0xA3, 0x0C, 0x80, 0, 0, 0, 0, 0, 0x10, 0, 0, 0]), R, 4096),
    ])
    s["unmapped_lun"] = bytes([0]) + cdb_record(INQUIRY, R | 4, 96) + cdb_record(REPORT_LUNS, R | 6, 64)
    return s


def login_seeds():
    s = {}
    sec = bytes([0x80]) + keys(InitiatorName=INITIATOR, TargetName=TARGET,
                               SessionType="Normal", AuthMethod="None,CHAP")
    op = bytes([0x81]) + keys(HeaderDigest="CRC32C,None", DataDigest="None",
                              MaxRecvDataSegmentLength="65536", MaxBurstLength="0x40000",
                              FirstBurstLength="999999", InitialR2T="No",
                              ImmediateData="Yes", MaxOutstandingR2T="8",
                              ErrorRecoveryLevel="2", MaxConnections="4",
                              DefaultTime2Wait="5", DefaultTime2Retain="20",
                              DataPDUInOrder="No", DataSequenceInOrder="Yes",
                              IFMarker="Yes", OFMarkInt="1~65535", **{"X-com.example.key": "1"})
    s["security_then_operational"] = sec + b"\xff" + op
    s["operational_only"] = op
    s["discovery_ffp"] = bytes([0x01]) + keys(InitiatorName=INITIATOR, SessionType="Discovery") + \
        b"\xff" + bytes([0x02]) + keys(SendTargets="All")
    s["twice_and_bad"] = bytes([0x01]) + keys(MaxBurstLength="abc", InitialR2T="Maybe",
                                              HeaderDigest="MD5") + b"\xff" + \
        bytes([0x01]) + keys(MaxBurstLength="512")
    s["small_out"] = bytes([0x41]) + keys(InitiatorName=INITIATOR, TargetName=TARGET,
                                          HeaderDigest="None", DataDigest="None",
                                          InitialR2T="Yes")
    s["chap_long"] = bytes([0x00]) + b"CHAP_C=0x" + b"ab" * 600 + b"\0" + keys(CHAP_A="5")
    return s


def json_seeds():
    rpc = lambda m, p=None, i=1: ('{"jsonrpc":"2.0","id":%d,"method":"%s"%s}' % (
        i, m, (',"params":' + p) if p else "")).encode()
    T = '"iqn.2026-01.org.invar:t1"'
    s = {}
    s["rpc_session"] = b"\0" + b"\n".join([
        rpc("rpc_version"),
        rpc("target_create", '{"iqn":%s}' % T, 2),
        rpc("lun_add", '{"iqn":%s,"backstore":"ram","size":"1M"}' % T, 3),
        rpc("lun_add", '{"iqn":%s,"lun":5,"backstore":"null","size":1048576,"block_size":4096,'
            '"serial":"abc","naa":"3000000000000001"}' % T, 4),
        rpc("lun_list", '{"iqn":%s}' % T, 5),
        rpc("target_list", None, 6),
        rpc("portal_add", '{"address":"127.0.0.1:3261"}', 7),
        rpc("portal_list", None, 8),
        rpc("config_show", None, 9),
        rpc("lun_resize", '{"iqn":%s,"lun":0,"size":2097152}' % T, 12),
        rpc("lun_resize", '{"iqn":%s,"lun":5,"size":524288,"force":true}' % T, 13),
        rpc("lun_resize", '{"iqn":%s,"lun":0,"reread":true}' % T, 14),
        rpc("lun_delete", '{"iqn":%s,"lun":0}' % T, 10),
        rpc("target_delete", '{"iqn":%s}' % T, 11),
    ])
    s["rpc_batch_errors"] = b"\0" + b"\n".join([
        b'[{"jsonrpc":"2.0","id":1,"method":"nope"},{"jsonrpc":"2.0","method":"rpc_version"},1]',
        b'[]', b'{"jsonrpc":"1.0","id":null}', b'{"jsonrpc":"2.0","id":[1],"method":"x"}',
        b'{"jsonrpc":"2.0","id":1,"method":"target_create","params":{"iqn":5}}',
        b'{"jsonrpc":"2.0","id":1,"method":"portal_add","params":["[::1]:3260"]}',
        b'{"a":', b'"\\u0000"',
    ])
    cfg = b"""{
  "version": 1,
  "portals": ["127.0.0.1:3260", "[::1]:3261"],
  "targets": [
    {"iqn": "iqn.2026-01.org.invar:t1", "luns": [
      {"lun": 0, "backstore": "ram", "size": "64M", "block_size": 512},
      {"lun": 1, "backstore": "null", "size": 1073741824, "block_size": 4096,
       "serial": "S1", "naa": "600140500000000000000000000000aa", "profile": "invar-2026.1"}
    ]},
    {"iqn": "iqn.2026-01.org.invar:t2", "luns": [], "extra": true}
  ]
}
"""
    s["config_full"] = b"\1" + cfg
    s["config_newer"] = b"\1" + b'{"version": 2, "targets": []}'
    s["config_bad_types"] = b"\1" + b'{"version": 1, "portals": [1], "targets": [{"iqn": 7, "luns": {}}]}'
    return s


def pdu_seeds():
    s = {}
    c = Conn()
    c.scsi(INQUIRY, edtl=96, read=True)
    s["scsi_cmd"] = c.out
    c = Conn()
    ext = bytes(range(16, 48))
    ahs = struct.pack(">HBB", len(ext) + 1, 1, 0) + ext
    c.scsi(bytes([0x7F] + [0] * 15), ahs=pad(ahs) + pad(struct.pack(">HBB", 5, 2, 0) + bytes(4)))
    s["ext_cdb_bidi_ahs"] = c.out
    c = Conn()
    c.login(0x87, keys(InitiatorName=INITIATOR))
    s["login"] = c.out
    c = Conn()
    c.data_out(5, BLOCK[:300], offset=512, datasn=3, ttt=7, lun=2)
    s["data_out"] = c.out
    return s


def main():
    for name, seeds in (("fuzz_conn", conn_seeds()), ("fuzz_cdb", cdb_seeds()),
                        ("fuzz_login", login_seeds()), ("fuzz_json", json_seeds()),
                        ("fuzz_pdu", pdu_seeds())):
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        for k, v in seeds.items():
            with open(os.path.join(d, "seed-" + k), "wb") as f:
                f.write(v)


if __name__ == "__main__":
    main()
