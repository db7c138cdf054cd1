#!/usr/bin/env bash
# examples/home-inventory's prod on the emulator: the wall time and AWS API calls of
# `cairn up` (47 resources in us-east-1 and us-east-2) and of `cairn destroy` (after the
# clusters' deletion protection is lifted), with cairn's default parallelism and, as the
# baseline in the same run, one operation at a time (`--parallel 1`).
#
#   scripts/bench-home-inventory.sh [RUNS]          # default 3 runs of each; a Markdown table
#   CAIRN_BIN=path/to/cairn scripts/bench-home-inventory.sh
#
# Uses the emulator AWS_ENDPOINT_URL points at, or starts one (scripts/moto.sh) and stops
# it at the end. Each run makes the team's set-up of its own (a KMS alias for the secrets,
# the domain's hosted zone) with boto3 from the emulator's virtualenv (`scripts/moto.sh
# python`), and deploys a copy of the example under a project name of its own, with its
# state on local disk.
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-3}"
bench=bench-home-inventory.sh
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
python="$(bash scripts/moto.sh python)"

# deploy NAME PARALLEL: set up, up, lift the protection, destroy; times `up` and `destroy`.
deploy() {
    local label="$1" parallel="$2" project dir zone
    project="hb$RANDOM$RANDOM"
    dir="$work/$project"
    cp -r examples/home-inventory "$dir"
    rm -rf "$dir/.cairn"
    sed -i "s/^name: home-inventory$/name: $project/; s#^backend: .*#backend: file://.cairn#; s#awskms://alias/home-inventory?#awskms://alias/$project?#" "$dir/Cairn.yaml"
    zone="$("$python" - "$project" <<'EOF'
import sys, boto3
name = sys.argv[1]
kms = boto3.client("kms")
kms.create_alias(AliasName=f"alias/{name}", TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
zone = boto3.client("route53").create_hosted_zone(Name=f"{name}.example.com", CallerReference=name)
print(zone["HostedZone"]["Id"].split("/")[-1])
# GitHub's OIDC provider: one per account, so the runs share it (made once).
iam = boto3.client("iam")
url = "token.actions.githubusercontent.com"
arns = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] if p["Arn"].endswith(url)]
print(arns[0] if arns else iam.create_open_id_connect_provider(Url=f"https://{url}", ClientIDList=["sts.amazonaws.com"])["OpenIDConnectProviderArn"])
EOF
)"
    local provider
    provider="$(echo "$zone" | sed -n 2p)"
    zone="$(echo "$zone" | sed -n 1p)"
    "$cairn" -C "$dir" -s prod config set DomainName "$project.example.com" 2>/dev/null
    "$cairn" -C "$dir" -s prod config set HostedZoneId "$zone" 2>/dev/null
    "$cairn" -C "$dir" -s prod config set GithubRepo "owner/$project" 2>/dev/null
    "$cairn" -C "$dir" -s prod config set GithubOidcProviderArn "$provider" 2>/dev/null
    for s in GoogleClientId GoogleClientSecret AnthropicApiKey; do
        echo "bench-$s" | "$cairn" -C "$dir" -s prod config set --secret "$s" 2>/dev/null
    done
    run "up-$label" "$dir" -s prod up --yes --parallel "$parallel"
    "$cairn" -C "$dir" -s prod config set DeletionProtection false 2>/dev/null
    "$cairn" -C "$dir" -s prod up --yes >/dev/null 2>&1
    run "destroy-$label" "$dir" -s prod destroy --yes --parallel "$parallel"
}

for i in $(seq 1 "$runs"); do
    deploy default 16
    deploy serial 1
    echo "run $i: up $(tail -n1 "$work/up-default" | cut -d' ' -f1) ms (serial $(tail -n1 "$work/up-serial" | cut -d' ' -f1) ms), destroy $(tail -n1 "$work/destroy-default" | cut -d' ' -f1) ms (serial $(tail -n1 "$work/destroy-serial" | cut -d' ' -f1) ms)" >&2
done

echo
echo "examples/home-inventory, stack prod, $runs runs on moto ($(uname -m), $(nproc) cores):"
echo
echo "| command | median wall time, --parallel 16 | median wall time, --parallel 1 (baseline) | AWS API calls (cairn's count) |"
echo "| --- | --- | --- | --- |"
for name in up destroy; do
    fast="$(cut -d' ' -f1 "$work/$name-default" | median)"
    slow="$(cut -d' ' -f1 "$work/$name-serial" | median)"
    calls="$(cut -d' ' -f2 "$work/$name-default" "$work/$name-serial" | sort -u | paste -sd/ -)"
    echo "| \`cairn $name --yes\` | $fast ms | $slow ms | $calls |"
done
echo
for name in up destroy; do
    echo "- calls of \`$name\` (last run): $(cat "$work/$name-default.ops")"
done
