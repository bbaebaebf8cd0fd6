#!/usr/bin/env bash
# CHAP and ACLs with real initiators (libiscsi tools, qemu-img): the right credentials work,
# wrong or missing ones are refused, an initiator outside the ACL can neither log in nor see the
# target in discovery; mutual CHAP; per-initiator LUN maps; RPC answers never carry secrets;
# the saved config (0600) keeps it all across a restart.
. "$(dirname "$0")/lib.sh"
need iscsi-inq
need iscsi-ls
need jq
GOOD=iqn.2026-01.org.test:good
BAD=iqn.2026-01.org.test:bad
QEMU=iqn.2008-11.org.linux-kvm
CRED="alice%alicesecret123"
invar_start --target "$TEST_IQN" --lun ram:16M --lun ram:8M \
	--chap alice:alicesecret123 --mutual-chap tgt:targetsecret456 --allow "$GOOD" --allow "$QEMU"
HP=127.0.0.1:$PORT
inq() { timeout 20 iscsi-inq "$@" >"$TMP/inq.out" 2>&1; }

inq -i "$GOOD" "iscsi://$CRED@$HP/$TEST_IQN/0" || { cat "$TMP/inq.out"; fail "right credentials refused"; }
grep -q DIRECT_ACCESS "$TMP/inq.out" || fail "no INQUIRY data with the right credentials"
inq -i "$GOOD" "iscsi://alice%wrongsecret12@$HP/$TEST_IQN/0" && fail "wrong secret accepted"
grep -q "Authentication failure" "$TMP/inq.out" || fail "wrong secret: not an authentication failure"
inq -i "$GOOD" "iscsi://mallory%alicesecret123@$HP/$TEST_IQN/0" && fail "wrong user accepted"
inq -i "$GOOD" "iscsi://$HP/$TEST_IQN/0" && fail "login without CHAP accepted"
# Outside the ACL: refused even with the right credentials, and not listed by discovery.
inq -i "$BAD" "iscsi://$CRED@$HP/$TEST_IQN/0" && fail "initiator outside the ACL logged in"
grep -qi "authoriz\|failure" "$TMP/inq.out" || fail "outside the ACL: unexpected error: $(cat "$TMP/inq.out")"
timeout 20 iscsi-ls -i "$GOOD" "iscsi://$CRED@$HP" | grep -q "Target:$TEST_IQN" ||
	fail "discovery does not list the target to an allowed initiator"
out=$(timeout 20 iscsi-ls -i "$BAD" "iscsi://$CRED@$HP" 2>&1)
echo "$out" | grep -q "$TEST_IQN" && fail "discovery lists the target to an initiator outside the ACL"
timeout 20 iscsi-ls -i "$GOOD" "iscsi://$HP" >/dev/null 2>&1 && fail "discovery without CHAP accepted"
# Mutual CHAP: the target proves itself; a wrong expectation is detected by the initiator.
LIBISCSI_CHAP_TARGET_USERNAME=tgt LIBISCSI_CHAP_TARGET_PASSWORD=targetsecret456 \
	inq -i "$GOOD" "iscsi://$CRED@$HP/$TEST_IQN/0" || { cat "$TMP/inq.out"; fail "mutual CHAP failed"; }
LIBISCSI_CHAP_TARGET_USERNAME=tgt LIBISCSI_CHAP_TARGET_PASSWORD=notthetargetsecret \
	inq -i "$GOOD" "iscsi://$CRED@$HP/$TEST_IQN/0" && fail "initiator accepted a wrong target secret"

# qemu-img (initiator name iqn.2008-11.org.linux-kvm).
if command -v qemu-img >/dev/null; then
	timeout 30 qemu-img info "iscsi://$CRED@$HP/$TEST_IQN/0" >"$TMP/qi.out" 2>&1 ||
		{ cat "$TMP/qi.out"; fail "qemu-img with credentials failed"; }
	grep -q "virtual size: 16 MiB" "$TMP/qi.out" || fail "qemu-img: wrong size: $(cat "$TMP/qi.out")"
	timeout 30 qemu-img info "iscsi://$HP/$TEST_IQN/0" >/dev/null 2>&1 &&
		fail "qemu-img without credentials got in"
fi

# RPC: per-initiator credentials and LUN map; answers never carry a secret.
"${CTL[@]}" acl map "$TEST_IQN" "$GOOD" 0 1 >/dev/null || fail "acl map"
"${CTL[@]}" chap set "$TEST_IQN" good:goodsecret1234 --initiator "$GOOD" >/dev/null || fail "chap set"
inq -i "$GOOD" "iscsi://$CRED@$HP/$TEST_IQN/0" && fail "old credentials still work for $GOOD"
size=$(timeout 20 iscsi-readcapacity16 -s -i "$GOOD" "iscsi://good%goodsecret1234@$HP/$TEST_IQN/0" 2>&1) ||
	fail "per-initiator credentials refused: $size"
[ "$size" = 8388608 ] || fail "LUN map: LUN 0 should be the target's 8 MiB LUN 1, got '$size'"
inq -i "$GOOD" "iscsi://good%goodsecret1234@$HP/$TEST_IQN/1" && fail "unmapped LUN 1 answered"
"${CTL[@]}" --json acl list "$TEST_IQN" >"$TMP/acl.json" || fail "acl list"
jq -e '.acl | length == 2' "$TMP/acl.json" >/dev/null || fail "acl list: $(cat "$TMP/acl.json")"
"${CTL[@]}" --json config show >"$TMP/show.json" || fail "config show"
grep -q "secret1234\|secret123\|secret456" "$TMP/acl.json" "$TMP/show.json" &&
	fail "an RPC answer carries a CHAP secret"

# Saved config: mode 0600, secrets kept, restored exactly, still enforced.
"${CTL[@]}" config save "$TMP/saved.json" >/dev/null || fail "config save"
[ "$(stat -c %a "$TMP/saved.json")" = 600 ] || fail "saved config is not mode 0600"
jq -e '.version == 2 and .targets[0].auth.acl[0].chap.secret == "goodsecret1234"' "$TMP/saved.json" \
	>/dev/null || fail "saved config lacks auth: $(cat "$TMP/saved.json")"
invar_stop
invar_start_config "$TMP/saved.json"
inq -i "$GOOD" "iscsi://good%goodsecret1234@$HP/$TEST_IQN/0" || fail "restored config: login failed"
inq -i "$BAD" "iscsi://$CRED@$HP/$TEST_IQN/0" && fail "restored config: ACL lost"
inq -i "$GOOD" "iscsi://$HP/$TEST_IQN/0" && fail "restored config: CHAP lost"
CTL=("$INVARCTL" --socket "$TMP/data/invar.sock")
"${CTL[@]}" config save "$TMP/again.json" >/dev/null || fail "config save after restore"
cmp -s <(jq -S 'del(.invar_version)' "$TMP/saved.json") <(jq -S 'del(.invar_version)' "$TMP/again.json") ||
	fail "config did not round-trip"
# Emptying the ACL opens the target again (documented behaviour).
"${CTL[@]}" acl delete "$TEST_IQN" "$GOOD" >/dev/null && "${CTL[@]}" acl delete "$TEST_IQN" "$QEMU" >/dev/null ||
	fail "acl delete"
inq -i "$BAD" "iscsi://$CRED@$HP/$TEST_IQN/0" || fail "empty ACL: initiator refused"
grep -a -q "alicesecret123\|goodsecret1234\|targetsecret456" "$TMP/invard.log" && fail "a secret reached the log"
invar_stop
