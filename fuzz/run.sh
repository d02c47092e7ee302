#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 120) without a sanitizer on the stable
# toolchain (`cargo fuzz run -s none`), seeded from the sample data; prints the executions.
# A crash leaves its input in fuzz/artifacts/<target>/ and exits non-zero.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-120}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p corpus/cdr_line corpus/config corpus/phone corpus/xapi_office_hours corpus/socket_framer
i=0
while IFS= read -r line; do i=$((i+1)); printf '\000%s' "$line" > "corpus/cdr_line/sample-$i"; done < ../examples/data/cdr-sample.log
cp ../examples/config/*.yml corpus/config/
{ printf '\377\007'; head -c 4000 ../examples/data/cdr-sample.log; } > corpus/socket_framer/sample
printf '\010\003a,b\r\nc\r\r\n\r\n\026\003' > corpus/socket_framer/short
printf '\000(907) 555-1234' > corpus/phone/us; printf '\001+46 70 301 40 82' > corpus/phone/se
printf '\002011 44 20 7946 0018' > corpus/phone/gb; printf '\0001-800-FLOWERS ext. 12' > corpus/phone/vanity
cat > corpus/xapi_office_hours/sample.json <<'JSON'
{"TimeZoneId":"America/New_York","Hours":{"Type":"OfficeHours","Periods":[{"DayOfWeek":"Monday","Start":"09:00:00","Stop":"17:00:00"},{"DayOfWeek":"Friday","Start":"22:00:00","Stop":"02:00:00"}]},"BreakTime":{"Periods":[{"DayOfWeek":"Monday","Start":"12:00:00","Stop":"12:30:00"}]},"OfficeHolidays":[{"Name":"Christmas","Day":25,"Month":12,"Year":2026,"DayEnd":26,"MonthEnd":12,"YearEnd":2026,"IsRecurrent":true,"TimeOfStartDate":"PT0S","TimeOfEndDate":"PT12H"}]}
JSON
for target in cdr_line config phone xapi_office_hours socket_framer; do
  echo "== $target ($seconds s)"
  cargo fuzz run -s none "$target" "corpus/$target" -- -max_total_time="$seconds" -print_final_stats=1 2>&1 \
    | grep -E "stat::number_of_executed_units|stat::peak_rss_mb|ERROR|panicked|SUMMARY" || true
  [ -z "$(ls -A "artifacts/$target" 2>/dev/null)" ] || { echo "crash inputs in fuzz/artifacts/$target" >&2; exit 1; }
done
