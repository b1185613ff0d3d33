#!/usr/bin/env bash
# it_scan against s3rver: every key of a day accounted for on another
# server's listing (delimiter, paging), one page or many.
IT_SCAN_SERVER=s3rver
. "$(dirname "$0")/it_scan.sh"
