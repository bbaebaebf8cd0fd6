#!/usr/bin/env bash
# libiscsi's whole conformance suite (ALL, two paths in two portal groups) on an RBD LU, exactly
# as t_85 runs it on a file LU: t_85 itself, with CONFORMANCE_LUN naming a 1 GiB image of a
# one-node Ceph started here (tests/ceph/lib.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../ceph/lib.sh"
need iscsi-test-cu
CEPH_MEMSTORE_BYTES=$((8 << 30)) ceph_start
echo "  one-node ceph up in ${CEPH_START_MS} ms"
ceph_rbd create --size 1G rbd/suite || fail "rbd create failed"
CONFORMANCE_LUN="rbd:rbd/suite,conf=$CEPH_CONF" bash "$(dirname "$0")/t_85_conformance_all.sh" ||
	fail "the conformance suite failed on the RBD LU"
