#!/usr/bin/env bash
# One image for every environment: the configuration from -c s3://BUCKET/KEY
# (read with the credential chain, the endpoint of AWS_ENDPOINT_URL_S3) or
# from $REPART_CONFIG_YAML (the YAML itself); -c wins over the environment;
# a missing object or bad YAML is exit 2 naming its source.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_repart.sh"

repart_setup cold out cfg
gen "$TEST_TMP/gen" --from 2023-12-05 --to 2023-12-05 --series 3 --records-per-file 10 --seed 61 >/dev/null
put_tree "$TEST_TMP/gen" cold
write_config "$TEST_TMP/c.yml"
mkdir -p "$TEST_TMP/tree/env"
cp "$TEST_TMP/c.yml" "$TEST_TMP/tree/env/prod.yml"
put_tree "$TEST_TMP/tree" cfg

# 1. -c s3://
AWS_ENDPOINT_URL_S3=$S3_ENDPOINT run_repart -c s3://cfg/env/prod.yml plan --days 2023-12-05
assert_eq "$RC" 0 "plan with the config from S3 ($ERR)"
assert_contains "$OUT" "2023-12-05" "plan output"
AWS_ENDPOINT_URL_S3=$S3_ENDPOINT run_repart -c s3://cfg/env/missing.yml plan --days 2023-12-05
assert_eq "$RC" 2 "a config object that does not exist"
assert_contains "$ERR" "config s3://cfg/env/missing.yml" "names the object"
run_repart -c s3://cfg plan --days 2023-12-05
assert_eq "$RC" 2 "-c s3:// without a key"

# 2. $REPART_CONFIG_YAML
REPART_CONFIG_YAML=$(cat "$TEST_TMP/c.yml") run_repart plan --days 2023-12-05
assert_eq "$RC" 0 "plan with the config in the environment ($ERR)"
REPART_CONFIG_YAML=$'s3:\n  bogus: 1\n' run_repart plan --days 2023-12-05
assert_eq "$RC" 2 "bad YAML in the environment"
assert_contains "$ERR" "REPART_CONFIG_YAML" "names the source"
# -c wins over the environment
REPART_CONFIG_YAML=$'s3:\n  bogus: 1\n' run_repart -c "$TEST_TMP/c.yml" plan --days 2023-12-05
assert_eq "$RC" 0 "-c over REPART_CONFIG_YAML ($ERR)"
note "it_config_sources: all checks passed"
