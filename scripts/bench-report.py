#!/usr/bin/env python3
"""Writes BENCHMARKS.md (to stdout) from the figures `make bench` collected.

Inputs: target/bench-results/*.json (written by the Rust benches),
target/criterion/<alg>/<bench>/new/estimates.json (criterion), the arm64
zips in target/lambda/ and [profile.release] in Cargo.toml.
"""

import json
import os
import platform
import re
import subprocess
import sys
import zipfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "target" / "bench-results"
CRITERION = ROOT / "target" / "criterion"


def load(name):
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def text(name, default="?"):
    path = RESULTS / name
    return path.read_text().strip() if path.exists() else default


def run(*command):
    try:
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def machine():
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {memory_kib / 1048576:.0f} GiB, "
        f"{platform.system()} {platform.release()} {platform.machine()}"
    )


def criterion_median_us(group, bench):
    path = CRITERION / group / bench / "new" / "estimates.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())["median"]["point_estimate"] / 1000.0


def verdict(met):
    return "met" if met else "**not met**"


def fmt(value, digits=1):
    return "?" if value is None else f"{value:,.{digits}f}"


def tokens_section(out):
    targets = {"HS256": 2.0, "EdDSA": 1.2, "ES256": 1.2}
    out.append("## 1. Tokens: tokengate against the bare primitive\n")
    out.append(
        "`cargo bench --bench tokens` (criterion, median). One access token per "
        "algorithm; the bare primitive is aws-lc-rs (the library jsonwebtoken itself "
        "calls) on the same JWS signing input, keyed once.\n"
    )
    out.append(
        "| algorithm | sign | bare sign | ratio | verify | jsonwebtoken decode | bare verify "
        "| ratio | verify target | |"
    )
    out.append("|---|---|---|---|---|---|---|---|---|---|")
    for alg, target in targets.items():
        sign = criterion_median_us(alg, "sign")
        bare_sign = criterion_median_us(alg, "primitive_sign")
        verify = criterion_median_us(alg, "verify")
        bare_verify = criterion_median_us(alg, "primitive_verify")
        library = criterion_median_us(alg, "library_verify")
        if None in (sign, bare_sign, verify, bare_verify, library):
            out.append(f"| {alg} | missing | | | | | | | | |")
            continue
        ratio = verify / bare_verify
        out.append(
            f"| {alg} | {sign:.2f} µs | {bare_sign:.2f} µs | {sign / bare_sign:.1f}x "
            f"| {verify:.2f} µs | {library:.2f} µs | {bare_verify:.2f} µs | {ratio:.2f}x "
            f"| <= {target}x | {verdict(ratio <= target)} |"
        )
    hs_verify = criterion_median_us("HS256", "verify")
    hs_library = criterion_median_us("HS256", "library_verify")
    if hs_verify and hs_library:
        out.append(
            f"\nWhat limits HS256: `jsonwebtoken::decode` alone takes {hs_library:.2f} µs "
            f"(tokengate's whole verify: {hs_verify:.2f} µs). Per call it decodes the header twice, keys a new "
            "HMAC context and deserialises the claims twice (once for the caller, once for "
            "its own checks); the HMAC itself is a tenth of that. Reaching 2x would mean "
            "replacing the library's verification with hand-written JWT parsing; for a few "
            "microseconds next to a DynamoDB round trip of a millisecond or more, tokengate "
            "keeps the well-kept library. EdDSA and ES256 are dominated by the signature "
            "check itself."
        )
    out.append(
        "\n*jsonwebtoken decode* is `jsonwebtoken::decode` alone, into a `serde_json::Value`, "
        "with minimal rules (signature and `exp`): the library's own cost on the same token, before "
        "tokengate picks the key by `kid` and checks `typ`, `token_use`, `iss` and `aud`.\n"
    )


def decision_section(out):
    result = load("decision")
    out.append("## 2. Authorizer decision against a bare BatchGetItem\n")
    if not result:
        out.append("(missing)\n")
        return
    d, b, o = result["decision_us"], result["bare_us"], result["overhead_pct"]
    a = result["authenticate_us"]
    out.append(
        f"`cargo bench --bench decision`: {result['samples']} samples of each, interleaved, "
        "against DynamoDB Local on loopback, same SDK client. The decision is the whole "
        "authorizer: event bytes parsed, token verified, one BatchGetItem, response "
        "serialised.\n"
    )
    out.append("| | p50 | p99 |")
    out.append("|---|---|---|")
    out.append(f"| authorizer decision | {d['p50']:.0f} µs | {d['p99']:.0f} µs |")
    out.append(
        f"| `AuthService::authenticate` (verify, round trip, checks; no event) "
        f"| {a['p50']:.0f} µs | {a['p99']:.0f} µs |"
    )
    out.append(f"| bare BatchGetItem (the same request: both items, the decision's attributes) | {b['p50']:.0f} µs | {b['p99']:.0f} µs |")
    out.append(f"| overhead | {o['p50']:.1f} % ({d['p50'] - b['p50']:.0f} µs) | {o['p99']:.1f} % |")
    out.append(f"\nTarget: overhead <= 5 % at p50: {verdict(o['p50'] <= 5.0)}.\n")
    shipped = load("decision-release")
    if shipped:
        sd, sb, so = shipped["decision_us"], shipped["bare_us"], shipped["overhead_pct"]
        sa = shipped["authenticate_us"]
        out.append(
            "The same run built with the **release profile** (opt-level \"z\", fat LTO: what "
            "the zips ship), bench profile beside it:\n"
        )
        out.append("| p50 | bench profile | release profile |")
        out.append("|---|---|---|")
        out.append(f"| authorizer decision | {d['p50']:.0f} µs | {sd['p50']:.0f} µs |")
        out.append(f"| `authenticate` | {a['p50']:.0f} µs | {sa['p50']:.0f} µs |")
        out.append(f"| bare BatchGetItem | {b['p50']:.0f} µs | {sb['p50']:.0f} µs |")
        out.append(
            f"| overhead | {o['p50']:.1f} % ({d['p50'] - b['p50']:.0f} µs) "
            f"| {so['p50']:.1f} % ({sd['p50'] - sb['p50']:.0f} µs) |"
        )
        out.append(f"| overhead at p99 | {o['p99']:.1f} % | {so['p99']:.1f} % |")
        out.append(f"\nTarget with the release profile: {verdict(so['p50'] <= 5.0)}.\n")
    out.append(
        f"Where the {d['p50'] - b['p50']:.0f} µs go (bench profile): {d['p50'] - a['p50']:.0f} µs "
        f"are the Lambda event (its bytes parsed straight into the fields the authorizer "
        f"needs; the response built and serialised) and "
        f"{a['p50'] - b['p50']:.0f} µs the decision around the read (token verified, items "
        "parsed into records, expiry/generation/version checked). The baseline is a loopback "
        "round trip to DynamoDB Local; the absolute overhead stays the same against "
        "DynamoDB on AWS, where the round trip, and so the denominator, is larger.\n"
    )


def cold_start_section(out):
    result = load("cold_start")
    out.append("## 3. Cold start per function\n")
    if not result:
        out.append("(missing)\n")
        return
    out.append(
        f"`cargo bench --bench cold_start`: each function binary (x86_64, bench profile) "
        f"started {result['runs']} times against a minimal Lambda Runtime API emulator "
        "(`tests/benches/cold_start.rs`); medians. *Init* is exec to the first `/next` "
        "poll; then one first invocation and three warm ones on the happy path against "
        "DynamoDB Local; peak RSS is `VmHWM` after the fourth. *EMF* is the bytes of "
        "metrics (CloudWatch Embedded Metric Format lines) the function wrote to stdout "
        "for its first invocation (`ColdStart` included) and for a warm one (0: that "
        "happy path counts nothing); every line is checked against the EMF specification.\n"
    )
    out.append("| function | init | first invocation | warm invocation | peak RSS | binary | EMF first / warm |")
    out.append("|---|---|---|---|---|---|---|")
    for name, f in result["functions"].items():
        out.append(
            f"| {name} | {f['init_ms']:.1f} ms | {f['first_invocation_ms']:.2f} ms "
            f"| {f['warm_invocation_ms']:.2f} ms | {f['peak_rss_kib'] / 1024:.1f} MiB "
            f"| {f['binary_bytes'] / 1048576:.1f} MiB "
            f"| {f.get('emf_first_invocation_bytes', 0)} B / {f.get('emf_warm_invocation_bytes', 0)} B |"
        )
    out.append("")
    shipped = load("cold_start-release")
    if shipped:
        out.append(
            "The request-path functions again, built with the **release profile** (what the "
            f"zips ship; x86_64, {shipped['runs']} starts each, built in "
            f"{text('release_build_seconds')} s):\n"
        )
        out.append("| function | profile | init | first invocation | warm invocation | peak RSS | binary |")
        out.append("|---|---|---|---|---|---|---|")
        for name, f in shipped["functions"].items():
            for profile, g in (("bench", result["functions"].get(name)), ("release", f)):
                if not g:
                    continue
                out.append(
                    f"| {name} | {profile} | {g['init_ms']:.1f} ms | {g['first_invocation_ms']:.2f} ms "
                    f"| {g['warm_invocation_ms']:.2f} ms | {g['peak_rss_kib'] / 1024:.1f} MiB "
                    f"| {g['binary_bytes'] / 1048576:.1f} MiB |"
                )
        out.append("")


def load_section(out):
    out.append("## 4. Load on the local server\n")
    out.append(
        "`cargo bench --bench load`: `tokengate-local` (bench profile) on loopback, one "
        "keep-alive connection per client, each client with its own user; server, "
        "DynamoDB Local and clients share this machine.\n"
    )
    out.append("| phase | clients | requests | req/s | p50 | p99 | statuses | server RSS (peak) |")
    out.append("|---|---|---|---|---|---|---|---|")
    for phase in ("validate", "refresh"):
        result = load(f"load_{phase}")
        if not result:
            out.append(f"| {phase} | missing | | | | | | |")
            continue
        route = result["routes"].get(phase, {})
        statuses = ", ".join(f"{k.split()[1]}: {v}" for k, v in result["statuses"].items())
        out.append(
            f"| {phase} | {result['clients']} | {route.get('requests', 0):,} "
            f"| {route.get('per_second', 0):,.0f} | {route.get('p50_ms', 0):.2f} ms "
            f"| {route.get('p99_ms', 0):.2f} ms | {statuses} "
            f"| {result['server_rss_kib']['peak'] / 1024:.1f} MiB |"
        )
    out.append("")


def login_timing_section(out):
    result = load("login_timing")
    out.append("## 5. Login timing (no account enumeration)\n")
    if not result:
        out.append("(missing)\n")
        return
    out.append(
        f"`cargo bench --bench login_timing`: medians of {result['tries']} alternating tries.\n"
    )
    out.append("| | median |")
    out.append("|---|---|")
    out.append(f"| login, unknown id | {result['unknown_id_ms']:.1f} ms |")
    out.append(f"| login, wrong password | {result['wrong_password_ms']:.1f} ms |")
    out.append(
        f"| difference | {result['difference_pct']:.1f} % (limit {result['limit_pct']:.0f} %: "
        f"{verdict(result['difference_pct'] < result['limit_pct'])}) |"
    )
    out.append(f"| login, success | {result['success_ms']:.1f} ms |")
    out.append(f"| validate (handler, in process) | {result['validate_ms']:.1f} ms |")
    out.append(f"| one argon2id hash (OWASP) | {result['argon2id_hash_ms']:.1f} ms |")
    if "forgot_account_ms" in result:
        out.append(
            f"| reset request, no time floor: account's address / unknown | "
            f"{result['forgot_raw_account_ms']:.1f} ms / {result['forgot_raw_unknown_ms']:.1f} ms |"
        )
        out.append(
            f"| reset request, {result['forgot_floor_ms']} ms floor: account's address / unknown | "
            f"{result['forgot_account_ms']:.1f} ms / {result['forgot_unknown_ms']:.1f} ms "
            f"({result['forgot_difference_pct']:.1f} %: "
            f"{verdict(result['forgot_difference_pct'] < result['limit_pct'])}) |"
        )
    out.append("")


def artifacts_section(out):
    out.append("## 6. Deployable artefacts\n")
    cargo = (ROOT / "Cargo.toml").read_text()
    profile = re.search(r"\[profile\.release\]\n(.*?)\n\n", cargo, re.S)
    out.append(
        "`make package`: `cargo lambda build --release --arm64 --output-format zip`, one "
        "per function, with this profile:\n"
    )
    out.append("```toml\n[profile.release]\n" + (profile.group(1) if profile else "?") + "\n```\n")
    out.append("| function | zip | bootstrap (unzipped) |")
    out.append("|---|---|---|")
    for zip_path in sorted((ROOT / "target" / "lambda").glob("*/bootstrap.zip")):
        with zipfile.ZipFile(zip_path) as archive:
            unzipped = sum(entry.file_size for entry in archive.infolist())
        out.append(
            f"| {zip_path.parent.name} | {zip_path.stat().st_size:,} bytes | {unzipped:,} bytes |"
        )
    out.append("")


STATIC = """\
## Round trips (asserted in tests, not timed)

An SDK interceptor on the test client counts DynamoDB requests; each test
fails if a change adds one.

| call | requests | round trips | test |
|---|---|---|---|
| validate | 1 BatchGetItem | 1 | `validate::validate_returns_seq_id_name_in_one_round_trip` |
| authorizer | 1 BatchGetItem | 1 | `authorizer::http_api_v2_allows_a_live_access_token_with_context_in_one_round_trip` |
| refresh | 1 TransactWriteItems | 1 | `refresh::refresh_rotates_in_one_round_trip_and_old_access_stops` |
| logout | 1 TransactWriteItems | 1 | `logout::logout_ends_only_this_device_in_one_round_trip` |
| logout-all | 1 TransactWriteItems | 1 | `logout::logout_all_ends_every_session_with_one_write` |
| login | GetItem ∥ UpdateItem ∥ UpdateItem, then TransactWriteItems (session, counters, `signed_in` event) | 2 | `login::login_costs_two_round_trips`, `activity::recording_adds_no_round_trip_to_any_operation` |
| failed login | GetItem ∥ UpdateItem ∥ UpdateItem, then TransactWriteItems (user exists? + `sign_in_failed` event) | 2 | `throttle::a_failure_costs_a_read_and_one_claim_per_counter` |
| refresh replay | TransactWriteItems (refused rotation), then TransactWriteItems (revoke + event) | 2 | `activity::recording_adds_no_round_trip_to_any_operation` |
| activity page | 1 BatchGetItem, then 1 Query | 2 | `activity::every_security_event_lands_in_the_trail_newest_first` |
| cold start (init) | 1 GetItem (warm-up) | 1 | `warm_up::warm_up_is_one_get_item_that_finds_and_writes_nothing` |
| account view | 1 BatchGetItem (session, user with its address) | 1 | `account::the_account_view_is_one_read_and_never_the_password_hash` |
| register with an e-mail | UpdateItem (source counter), UpdateItem (seq), then TransactWriteItems (user, `EMAIL#`, code) | 3 | `account::each_account_operation_costs_its_documented_round_trips` |
| verify e-mail | 1 BatchGetItem (session, user), then UpdateItem (one of the code's 5 tries, claimed before it is judged), then TransactWriteItems (code used, user verified, session checked, event) | 3 (2 for a refused code) | `account::each_account_operation_costs_its_documented_round_trips` |
| forgot password | GetItem (`EMAIL#`) ∥ UpdateItem ∥ UpdateItem, then (an account's address only) PutItem (code), then SES SendEmail; the 202 leaves at the `FORGOT_MIN_RESPONSE_MS` floor, also when the work takes longer | 1 or 2 (+ SES) | `account::each_account_operation_costs_its_documented_round_trips` |
| reset password | UpdateItem (the code's try) ∥ UpdateItem ∥ UpdateItem (counters), then GetItem (user) ∥ argon2, then TransactWriteItems (code, user, session, counter, event) | 3 (1 for a refused code, account or not) | `account::each_account_operation_costs_its_documented_round_trips` |
| logout-others | 1 BatchGetItem, then TransactWriteItems (version bump, caller's session re-keyed, event) | 2 | `account::logout_others_ends_every_other_session_in_one_transaction` |
| delete account | BatchGetItem (with the hash), UpdateItem (attempt), argon2, Query ∥ Query (session and event keys), TransactWriteItems (≤ 100 items; BatchWriteItem per 25 beyond) | 4 | `account::each_account_operation_costs_its_documented_round_trips` |
| admin disable / enable / sign_out | 1 UpdateItem | 1 | `account::each_account_operation_costs_its_documented_round_trips` |
| authorizer, disabled account | 1 BatchGetItem (the `disabled` flag is in the decision's read) | 1 | `account::a_disabled_account_is_refused_everywhere_at_once` |

Login is 2 round trips but 4 requests. The login throttle must claim its
attempt on the account's and the source's counters *before* argon2 runs, or
parallel guesses overrun the limit; those conditional UpdateItems run
concurrently with the read of the user, so they add requests, not round
trips. The second round trip writes the session, clears the claim and
records the sign-in in one transaction. Every security event is written
inside the transaction its operation already makes; a failed login, which
writes nothing else, has one of its own (the same for an unknown id).

## What the cold-start changes bought

A one-off measurement with this benchmark on this machine (2026-11-23), before
and after each change (3 cold starts each, medians); `make bench` does not re-run it:

| change | function | before | after |
|---|---|---|---|
| connection warm-up in init (one GetItem of a key that never exists; IAM grants exactly that) | authorizer, first invocation | 3.48 ms | 1.80 ms |
| | validate, first invocation | 3.23 ms | 2.19 ms |
| | sessions, first invocation | 5.32 ms | 3.59 ms |
| | refresh, first invocation | 9.59 ms | 6.93 ms |
| fixed glibc mmap threshold (argon2's 19 MiB block returned on free) | password, peak RSS after 4 invocations | 145.7 MiB | 31.8 MiB |
| | login, peak RSS | 69.5 MiB | 31.7 MiB |

On loopback to DynamoDB Local the warm-up moves a TCP connect and the SDK's
lazy set-up (credentials, endpoint) into init; on AWS it also moves the TLS
handshake to DynamoDB, which is the larger share. Config, keys and
jsonwebtoken `Validation` rules were already built once in init.
"""


def main():
    out = []
    commit = "`" + run("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD") + "`"
    dirty = run("git", "-C", str(ROOT), "status", "--porcelain", "--", ".", ":!BENCHMARKS.md")
    if dirty:
        commit += " + uncommitted changes"
    out.append("# Benchmarks\n")
    out.append(
        "Written by `make bench` (`scripts/bench.sh`); every figure below comes from that "
        "run unless a section says otherwise. Targets are reported, never asserted: "
        "timings belong here, not in tests.\n"
    )
    out.append(f"- Machine: {machine()}")
    out.append(f"- Toolchain: {run('rustc', '--version')}")
    out.append(f"- Commit: {commit}; run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    out.append(
        f"- Time: {text('total_seconds')} s in all, of which {text('build_seconds')} s building "
        "the benches (bench profile); the arm64 zips come from `make package`"
    )
    failed = text("failed", "")
    if failed:
        out.append(f"- Benchmarks that reported a failure: {failed.replace(chr(10), ', ')}")
    out.append("")
    out.append(STATIC)
    tokens_section(out)
    decision_section(out)
    cold_start_section(out)
    load_section(out)
    login_timing_section(out)
    artifacts_section(out)
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
