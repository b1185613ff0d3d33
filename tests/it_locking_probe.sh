#!/usr/bin/env bash
# Locking probe, lease renewal and conditional release (src/repart/locking.h,
# src/aws/lease.h), driven through build/lease-tool with the runtime repart uses:
#  - fauxqs ignores conditional writes: `locking: auto` is off (with the
#    "locking is off" text naming the endpoint), `on` fails with exit 2 and
#    a message naming the endpoint, `off` sends no request at all;
#  - through the conditional-write proxy (S3's semantics) auto and on are on;
#    the probe leaves no object behind;
#  - a held lease is renewed (If-Match, new expiry) every TTL/3: at least
#    two renewals seen in the proxy log with REPART_LEASE_TTL_SECS=6, and a
#    bad REPART_LEASE_TTL_SECS is a usage error; stopping is immediate
#    (no waiting out the renewal interval); release deletes the lease;
#  - a lease taken over by another owner is detected as lost, and its
#    release leaves the other owner's lease in place; a removed lease is lost;
#  - a lease whose renewals all fail is lost once it expires;
#  - a renewal whose answer was lost (it landed; its retry gets 412) is
#    not taken for a loss;
#  - repart itself: `on` on fauxqs exits 2 before writing, `auto` on fauxqs
#    says "locking is off" once per run, `auto` through the proxy takes the
#    day lease and renews it while the day runs, and a day whose lease is
#    taken over meanwhile is not committed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

LT="$REPART_BUILD_DIR/lease-tool"
[ -x "$LT" ] || fail "no $LT"
repart_setup cold out
KEY="index/startYear=2023/startMonth=9/startDay=1/.repart-lease"

# conf FILE MODE ENDPOINT
conf() {
    write_config "$1" "locking: $2"
    sed -i "s|endpoint_url: .*|endpoint_url: $3|" "$1"
}
# probe CFG: runs `lease-tool probe`; sets RC, OUT, ERR
probe() {
    RC=0
    "$LT" -c "$1" probe >"$TEST_TMP/out" 2>"$TEST_TMP/err" || RC=$?
    OUT=$(cat "$TEST_TMP/out")
    ERR=$(cat "$TEST_TMP/err")
}
# wait_until DESC CMD...: polls CMD every 0.1 s, at most 15 s
wait_until() {
    local desc="$1" i
    shift
    for ((i = 0; i < 150; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    fail "timed out waiting for: $desc"
}
no_probe_left() {
    ! bucket_ls out index/ | grep -q 'repart-probe' || fail "a probe object was left behind"
}

# ------------------------------------------------------------ probe: fauxqs
note "probe: fauxqs ignores conditional writes"
fault_proxy_start --rate 0   # pass-through, to count requests
conf "$TEST_TMP/auto.yml" auto "$FAULT_ENDPOINT"
probe "$TEST_TMP/auto.yml"
assert_eq "$RC" 0 "auto on fauxqs ($ERR)"
assert_contains "$OUT" "on=0" "auto on fauxqs"
assert_contains "$OUT" "off: locking is off: the S3 endpoint $FAULT_ENDPOINT does not honour conditional writes"
assert_eq "$(fault_log_count --method PUT --path-regex '^/out/index/\.repart-probe-[0-9a-f]{16}$')" 2 \
    "two conditional PUTs of one probe key"
no_probe_left
conf "$TEST_TMP/on.yml" on "$FAULT_ENDPOINT"
probe "$TEST_TMP/on.yml"
assert_eq "$RC" 2 "locking: on where conditional writes are ignored"
assert_contains "$ERR" "locking: on, but the S3 endpoint $FAULT_ENDPOINT does not honour conditional writes"
assert_contains "$ERR" "locking: off"
no_probe_left
before=$(fault_log_count)
conf "$TEST_TMP/off.yml" off "$FAULT_ENDPOINT"
probe "$TEST_TMP/off.yml"
assert_eq "$RC" 0 "locking: off ($ERR)"
assert_contains "$OUT" "on=0"
assert_contains "$OUT" "off: locking is off (locking: off)"
assert_eq "$(fault_log_count)" "$before" "locking: off probes nothing"

# ------------------------------------------------------ probe: cond proxy
note "probe: the conditional-write proxy honours them"
cond_proxy_start
conf "$TEST_TMP/auto-c.yml" auto "$COND_ENDPOINT"
probe "$TEST_TMP/auto-c.yml"
assert_eq "$RC/$OUT" "0/on=1" "auto through condproxy ($ERR)"
conf "$TEST_TMP/on-c.yml" on "$COND_ENDPOINT"
probe "$TEST_TMP/on-c.yml"
assert_eq "$RC/$OUT" "0/on=1" "on through condproxy ($ERR)"
P='^/out/index/\.repart-probe-'
assert_eq "$(cond_log_count --method PUT --path-regex "$P" --result failed --status 412)" 4 \
    "per probe: the second If-None-Match PUT and the wrong If-Match PUT refused"
assert_eq "$(cond_log_count --method DELETE --path-regex "$P" --result failed --status 412)" 2 \
    "per probe: a DELETE with a wrong ETag refused"
assert_eq "$(cond_log_count --method DELETE --path-regex "$P" --result passed --status 204)" 2 \
    "per probe: the DELETE with the right ETag"
no_probe_left
[ "$(grep -c 'ignored If-Match on DeleteObject' <<<"$ERR")" = 0 ] || fail "conditional delete seen as ignored"

# ------------------------------------------------------------ lease holder
# hold NAME CFG [VAR=VALUE...]: starts `lease-tool hold $KEY`, waits for "acquired".
hold() {
    local name="$1" cfg="$2"
    shift 2
    H_OUT="$TEST_TMP/$name.out"
    H_ERR="$TEST_TMP/$name.err"
    rm -f "$TEST_TMP/$name.in"
    mkfifo "$TEST_TMP/$name.in"
    env "$@" "$LT" -c "$cfg" hold "$KEY" <"$TEST_TMP/$name.in" >"$H_OUT" 2>"$H_ERR" &
    H_PID=$!
    exec {H_FD}>"$TEST_TMP/$name.in"
    wait_until "$name: acquired" grep -q '^acquired' "$H_OUT"
}
lines_above() { [ "$(wc -l <"$H_OUT")" -gt "$1" ]; }
# cmd CMD: sends a command, waits for its answer line, sets LAST
cmd() {
    local n
    n=$(wc -l <"$H_OUT")
    echo "$1" >&"$H_FD"
    wait_until "answer to $1" lines_above "$n"
    LAST=$(tail -n 1 "$H_OUT")
}
# release: sends release, waits for the tool to exit
release() {
    cmd release
    exec {H_FD}>&-
    wait "$H_PID" || fail "lease-tool hold exited $? ($(cat "$H_ERR"))"
}
is_lost() { cmd status; [[ "$LAST" == lost=1* ]]; }
lease_upstream() { curl -s "$S3_ENDPOINT/out/$KEY"; }
lease_code() { curl -s -o /dev/null -w '%{http_code}' "$S3_ENDPOINT/out/$KEY"; }
LP='repart-lease$'
lease_puts() { cond_log_count --method PUT --path-regex "$LP" --result "$1"; }
# renewals: conditional PUTs of the lease with If-Match that went through
renewals_at_least() {
    [ "$(grep -c '"path":"/out/index/[^"]*repart-lease","query":"","cond":"if-match","result":"passed","status":200' "$COND_LOG")" -ge "$1" ]
}
puts_at_least() { [ "$(lease_puts "$1")" -ge "$2" ]; }

note "lease: REPART_LEASE_TTL_SECS is validated"
for bad in 2 abc 86401 -5 ""; do
    [ -z "$bad" ] && continue
    RC=0
    REPART_LEASE_TTL_SECS=$bad "$LT" -c "$TEST_TMP/on-c.yml" hold "$KEY" </dev/null \
        >/dev/null 2>"$TEST_TMP/err" || RC=$?
    assert_eq "$RC" 2 "REPART_LEASE_TTL_SECS=$bad"
    assert_contains "$(cat "$TEST_TMP/err")" "REPART_LEASE_TTL_SECS=$bad: expected a whole number of seconds within 3..86400"
done
assert_eq "$(lease_code)" 404 "no lease taken with a bad TTL"

note "lease: renewed every TTL/3 while held, released after"
cond_proxy_stop
cond_proxy_start   # a fresh log
conf "$TEST_TMP/on-c.yml" on "$COND_ENDPOINT"
hold renew "$TEST_TMP/on-c.yml" REPART_LEASE_TTL_SECS=6
assert_contains "$(cat "$H_OUT")" "acquired ttl=6"
cmd status
first_expiry=${LAST##*expires=}
assert_contains "$LAST" "lost=0"
[ "$(grep -c '"path":"/out/index/[^"]*repart-lease","query":"","cond":"if-none-match","result":"passed","status":200' "$COND_LOG")" = 1 ] \
    || fail "the lease was not created with If-None-Match"
wait_until "two renewals" renewals_at_least 2
cmd status
assert_contains "$LAST" "lost=0" "after renewals"
[ "${LAST##*expires=}" -gt "$first_expiry" ] || fail "expiry did not move forward: $first_expiry, then $LAST"
assert_contains "$(lease_upstream)" "\"renewed\":" "the stored lease is a renewal"
assert_eq "$(lease_puts failed)" 0 "no renewal refused"
release
assert_eq "$(lease_code)" 404 "lease released"
assert_eq "$(cond_log_count --method DELETE --path-regex "$LP" --result passed --status 204)" 1 \
    "the release was a conditional DELETE"

note "lease: stopping does not wait out the renewal interval"
hold stop "$TEST_TMP/on-c.yml" REPART_LEASE_TTL_SECS=60   # renewals every 20 s
release
ms=${LAST##*ms=}
[ "$ms" -lt 2000 ] || fail "release took $ms ms with a 20 s renewal interval"
assert_eq "$(lease_code)" 404 "lease released"

note "lease: taken over by another owner -> lost; release leaves the new owner's lease"
hold over "$TEST_TMP/on-c.yml" REPART_LEASE_TTL_SECS=6
now=$(date +%s)
other="{\"owner\":\"elsewhere:1:abc\",\"token\":\"t\",\"acquired\":$now,\"expires\":$((now + 600))}"
curl -sf -X PUT -H 'Content-Type: application/json' --data-binary "$other" \
    "$S3_ENDPOINT/out/$KEY" >/dev/null
refused_before=$(lease_puts failed)
wait_until "the lease seen as lost" is_lost
assert_eq "$(lease_puts failed)" "$((refused_before + 1))" "one renewal refused (412), none after"
assert_contains "$(cat "$H_ERR")" "taken over by another writer"
release
assert_eq "$(lease_upstream)" "$other" "the new owner's lease is still there"
assert_contains "$(cat "$H_ERR")" "belongs to another writer now; left in place"
assert_eq "$(cond_log_count --method DELETE --path-regex "$LP" --result failed --status 412)" 1 \
    "the release was refused by its If-Match"

note "lease: removed by someone else -> lost"
curl -sf -X DELETE "$S3_ENDPOINT/out/$KEY" >/dev/null
hold removed "$TEST_TMP/on-c.yml" REPART_LEASE_TTL_SECS=6
curl -sf -X DELETE "$S3_ENDPOINT/out/$KEY" >/dev/null
wait_until "the removed lease seen as lost" is_lost
assert_contains "$(cat "$H_ERR")" "removed by someone else"
release
assert_eq "$(lease_code)" 404 "nothing recreated"

note "lease: renewals that all fail -> lost at expiry"
fault_proxy_stop
fault_proxy_start --upstream "$COND_ENDPOINT" --rate 1 --faults 500 --only PUT \
    --only-path-regex "$LP" --skip 1
conf "$TEST_TMP/faulty.yml" on "$FAULT_ENDPOINT"
hold expire "$TEST_TMP/faulty.yml" REPART_LEASE_TTL_SECS=6 REPART_S3_MAX_RETRIES=1 \
    REPART_S3_RETRY_BASE_MS=10
cmd status
assert_contains "$LAST" "lost=0" "fresh lease"
wait_until "the expired lease seen as lost" is_lost
[ "$(fault_log_count --method PUT --fault 500)" -ge 2 ] || fail "renewals were not attempted"
assert_contains "$(cat "$H_ERR")" "renewing lease"
release
assert_eq "$(lease_code)" 404 "still ours (nobody took it): released"

note "lease: a renewal whose answer was lost is not a loss"
fault_proxy_stop
fault_proxy_start --upstream "$COND_ENDPOINT" --rate 1 --faults truncate --only PUT \
    --only-path-regex "$LP" --skip 1 --max-faults 1
conf "$TEST_TMP/lossy.yml" on "$FAULT_ENDPOINT"
passed_before=$(lease_puts passed)
failed_before=$(lease_puts failed)
hold lossy "$TEST_TMP/lossy.yml" REPART_LEASE_TTL_SECS=6 REPART_S3_RETRY_BASE_MS=10
# acquire, the renewal that landed unseen, its refused retry, then two more renewals
wait_until "renewals after the lost answer" puts_at_least passed "$((passed_before + 4))"
assert_eq "$(fault_log_count --method PUT --fault any)" 1 "one answer lost"
assert_eq "$(lease_puts failed)" "$((failed_before + 1))" "its retry was refused (412)"
cmd status
assert_contains "$LAST" "lost=0" "still ours"
[ "$(grep -c lease_lost "$H_ERR" || true)" = 0 ] || fail "lease wrongly lost: $(cat "$H_ERR")"
release
assert_eq "$(lease_code)" 404 "released"
# ------------------------------------------------ repart itself (the runtime)
G="$TEST_TMP/gen"
gen "$G" --from 2023-09-01 --to 2023-09-04 --series 3 --records-per-file 5 --seed 3 >/dev/null
put_tree "$G" cold
day_index_code() { curl -s -o /dev/null -w '%{http_code}' "$S3_ENDPOINT/out/index/$(day_part "$1")/timeseries.txt"; }

note "repart: locking: on where conditional writes are ignored -> exit 2, nothing written"
conf "$TEST_TMP/r-on.yml" on "$S3_ENDPOINT"
run_repart -c "$TEST_TMP/r-on.yml" all --days 2023-09-01
assert_eq "$RC" 2 "repart all, locking: on, fauxqs ($ERR)"
assert_contains "$ERR" "locking: on, but the S3 endpoint $S3_ENDPOINT does not honour conditional writes"
assert_eq "$(day_index_code 2023-09-01)" 404 "no index written"

note "repart: locking: auto on fauxqs -> off, said once per run"
conf "$TEST_TMP/r-auto.yml" auto "$S3_ENDPOINT"
run_repart -c "$TEST_TMP/r-auto.yml" all --days 2023-09-01,2023-09-02
assert_eq "$RC" 0 "repart all, locking: auto, fauxqs ($ERR)"
assert_eq "$(grep -c "locking is off: the S3 endpoint $S3_ENDPOINT does not honour" <<<"$ERR$OUT")" 1 \
    "locking is off, said once for two days"
assert_eq "$(day_index_code 2023-09-02)" 200 "days committed"

note "repart: locking: auto through condproxy -> on; the day lease renewed while the day runs"
conf "$TEST_TMP/r-auto-c.yml" auto "$COND_ENDPOINT"
# the proxy logs paths as sent: '=' percent-encoded
enc_part() { day_part "$1" | sed 's/=/%3D/g'; }
DL="^/out/index/$(enc_part 2023-09-03)/\.repart-lease$"
RC=0
REPART_LEASE_TTL_SECS=3 REPART_TEST_PAUSE_AT=before_index:4000 \
    "$REPART" -c "$TEST_TMP/r-auto-c.yml" all --days 2023-09-03 >"$TEST_TMP/out" 2>"$TEST_TMP/err" || RC=$?
assert_eq "$RC" 0 "repart all through condproxy ($(cat "$TEST_TMP/err"))"
[ "$(grep -c "locking is off" "$TEST_TMP/err" || true)" = 0 ] || fail "locking said off through condproxy"
[ "$(grep -c "\"path\":\"/out/index/$(enc_part 2023-09-03)/.repart-lease\",\"query\":\"\",\"cond\":\"if-match\",\"result\":\"passed\"" "$COND_LOG")" -ge 2 ] \
    || fail "the day lease was not renewed twice during a 4 s pause with a 3 s TTL"
assert_eq "$(cond_log_count --method DELETE --path-regex "$DL" --result passed --status 204)" 1 \
    "the day lease released with If-Match"
assert_eq "$(curl -s -o /dev/null -w '%{http_code}' "$S3_ENDPOINT/out/index/$(day_part 2023-09-03)/.repart-lease")" 404 \
    "no lease left"
assert_eq "$(day_index_code 2023-09-03)" 200 "day committed"

note "repart: a day lease taken over while the day runs -> not committed, the new owner's lease kept"
conf "$TEST_TMP/r-on-c.yml" on "$COND_ENDPOINT"
DK="index/$(day_part 2023-09-04)/.repart-lease"
RC=0
REPART_LEASE_TTL_SECS=3 REPART_TEST_PAUSE_AT=before_index:4000 \
    "$REPART" -c "$TEST_TMP/r-on-c.yml" all --days 2023-09-04 >"$TEST_TMP/a.out" 2>"$TEST_TMP/a.err" &
pid_a=$!
lease_taken() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$S3_ENDPOINT/out/$DK")" = 200 ]; }
wait_until "the day lease taken" lease_taken
now=$(date +%s)
other="{\"owner\":\"elsewhere:2:def\",\"token\":\"u\",\"acquired\":$now,\"expires\":$((now + 600))}"
curl -sf -X PUT -H 'Content-Type: application/json' --data-binary "$other" "$S3_ENDPOINT/out/$DK" >/dev/null
wait "$pid_a" || RC=$?
assert_eq "$RC" 1 "the writer that lost its lease ($(cat "$TEST_TMP/a.err"))"
assert_contains "$(cat "$TEST_TMP/a.err")" "was lost"
assert_eq "$(day_index_code 2023-09-04)" 404 "nothing committed"
assert_eq "$(curl -s "$S3_ENDPOINT/out/$DK")" "$other" "the new owner's lease is still there"

note "it_locking_probe: all checks passed"
