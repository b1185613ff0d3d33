#!/usr/bin/env bash
# The deployment samples under deploy/ are valid: every *.json parses
# (python3 -m json.tool), every *.yaml / *.yml parses (PyYAML), and the
# deploy/events samples agree with each other (the queue the bucket notifies
# is the one the queue policy opens, the watch role reads and the ECS task
# polls; the escaped Policy and RedrivePolicy attributes hold the readable
# documents; the config in the Kubernetes sample names the buckets the IAM
# policies grant and loads in repart; the EventBridge target fills the
# parameter the Batch job hands to `repart event --object`).
set -euo pipefail
SRC="${REPART_SRC_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
PY=/usr/bin/python3
TEST_TMP_DIR="$(mktemp -d "${TMPDIR:-/tmp}/repart-it_deploy_json.XXXXXX")"
export TEST_TMP_DIR
trap 'rm -rf "$TEST_TMP_DIR"' EXIT
cd "$SRC"

n=0
while IFS= read -r -d '' f; do
    "$PY" -m json.tool "$f" >/dev/null || { echo "FAIL: $f is not valid JSON" >&2; exit 1; }
    n=$((n + 1))
done < <(find deploy -name '*.json' -print0)
[ "$n" -gt 0 ] || { echo "FAIL: no JSON under deploy/" >&2; exit 1; }

while IFS= read -r -d '' f; do
    "$PY" -c 'import sys, yaml; list(yaml.safe_load_all(open(sys.argv[1])))' "$f" ||
        { echo "FAIL: $f is not valid YAML" >&2; exit 1; }
done < <(find deploy \( -name '*.yaml' -o -name '*.yml' \) -print0)

"$PY" - deploy/events <<'EOF'
import json, os, sys, yaml
d = sys.argv[1]
def load(name):
    with open(os.path.join(d, name)) as f:
        return json.load(f)

qpol = load("queue-policy.json")
attrs = load("queue-attributes.json")
assert json.loads(attrs["Policy"]) == qpol, "queue-attributes Policy differs from queue-policy.json"
qarn = qpol["Statement"][0]["Resource"]
redrive = json.loads(attrs["RedrivePolicy"])
assert redrive["deadLetterTargetArn"].endswith(":repart-events-dlq") and int(redrive["maxReceiveCount"]) >= 1
dlq = json.loads(load("dlq-attributes.json")["RedriveAllowPolicy"])
assert dlq["sourceQueueArns"] == [qarn]
# a visibility timeout SQS accepts, and long polling on
assert 0 < int(attrs["VisibilityTimeout"]) <= 43200 and int(attrs["ReceiveMessageWaitTimeSeconds"]) == 20

notif = load("bucket-notification-sqs.json")["QueueConfigurations"][0]
assert notif["QueueArn"] == qarn and notif["Events"] == ["s3:ObjectCreated:*"]
cold_arn = qpol["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"]
cold = cold_arn.split(":::")[1]

watch = load("watch-role-policy.json")
sqs = [s for s in watch["Statement"] if s["Sid"] == "ConsumeEventQueue"][0]
assert sqs["Resource"] == qarn
assert set(sqs["Action"]) == {"sqs:ReceiveMessage", "sqs:DeleteMessage",
                              "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"}
batch = load("batch-job-role-policy.json")
assert batch["Statement"] == [s for s in watch["Statement"] if s["Sid"] != "ConsumeEventQueue"]
assert not any(a.startswith("sqs:") for s in batch["Statement"]
               for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))

# the queue URL the consumers poll is the queue the notification feeds
_, _, _, region, account, name = qarn.split(":")
qurl = "https://sqs.%s.amazonaws.com/%s/%s" % (region, account, name)
task = load("ecs-watch-task-definition.json")["containerDefinitions"][0]
assert task["command"][task["command"].index("--queue") + 1] == qurl
docs = list(yaml.safe_load_all(open(os.path.join(d, "k8s-watch.yaml"))))
deploy = [x for x in docs if x["kind"] == "Deployment"][0]
args = deploy["spec"]["template"]["spec"]["containers"][0]["args"]
assert args[args.index("--queue") + 1] == qurl

# the config the pods run with names the buckets the policies grant
cm = [x for x in docs if x["kind"] == "ConfigMap"][0]
cfg = yaml.safe_load(cm["data"]["config.yml"])
assert cfg["s3"]["cold_tier"]["bucket_name"] == cold
out = cfg["s3"]["repartitioned"]["bucket_name"]
grants = json.dumps(watch)
for p in (cfg["s3"]["cold_tier"]["data_prefix"],):
    assert "arn:aws:s3:::%s/%s*" % (cold, p) in grants
for p in (cfg["s3"]["repartitioned"]["data_prefix"], cfg["s3"]["repartitioned"]["index_prefix"]):
    assert "arn:aws:s3:::%s/%s*" % (out, p) in grants
assert notif["Filter"]["Key"]["FilterRules"][0] == {"Name": "prefix", "Value": cfg["s3"]["cold_tier"]["data_prefix"]}

# EventBridge: the rule matches the cold tier; the target's template is JSON once filled in
rule = load("eventbridge-rule-pattern.json")
assert rule["detail"]["bucket"]["name"] == [cold]
t = load("eventbridge-batch-targets.json")[0]
# (a variable inside a quoted string is substituted without quotes)
key = "raw/startYear=2023/startMonth=1/startDay=5/x.avro"
paths = t["InputTransformer"]["InputPathsMap"]
assert paths == {"bucket": "$.detail.bucket.name", "key": "$.detail.object.key"}
filled = t["InputTransformer"]["InputTemplate"].replace("<bucket>", cold).replace("<key>", key)
assert json.loads(filled)["Parameters"] == {"object": "s3://%s/%s" % (cold, key)}
jd = load("batch-job-definition.json")
assert set(jd["parameters"]) == set(json.loads(filled)["Parameters"])
# the job hands the parameter to `repart event --object`, no shell; the
# image's ENTRYPOINT is repart (Batch cannot override it), so the command
# holds repart's arguments only: a leading "repart" would run `repart repart`
cmd = jd["containerProperties"]["command"]
assert cmd[0] != "repart" and cmd[cmd.index("event") + 1:] == ["--object", "Ref::object"], cmd

# the Kubernetes config for repart itself
with open(os.path.join(os.environ["TEST_TMP_DIR"], "k8s-config.yml"), "w") as f:
    f.write(cm["data"]["config.yml"])
EOF

# repart accepts that config (every key known and valid)
REPART="${REPART_BUILD_DIR:-$SRC/build}/repart"
if [ -x "$REPART" ]; then
    "$REPART" -c "$TEST_TMP_DIR/k8s-config.yml" athena >/dev/null ||
        { echo "FAIL: repart rejects the config of k8s-watch.yaml" >&2; exit 1; }
fi
echo "it_deploy_json: ok ($n JSON files)"
