#!/bin/sh
# Write a self-contained Nagios 4 configuration into DIR that runs SERVICES
# active `check_tcp -H 127.0.0.1 -p PORT` services (spread over HOSTS hosts,
# host checks off) every INTERVAL seconds, with max_concurrent_checks=CONC
# (0 = unlimited). For the side-by-side benchmark against
# `wasmon bench --check tcp`; see the README, "Benchmarks".
#
#   tools/bench/nagios-tcp-bench.sh DIR PORT [SERVICES [HOSTS [INTERVAL [CONC [PLUGIN]]]]]
#   nagios4 -v DIR/nagios.cfg && nagios4 DIR/nagios.cfg     # foreground
#   nagios4stats -c DIR/nagios.cfg                          # checks/min, latency
set -eu
dir=$(realpath "$1"); port=$2; services=${3:-10000}; hosts=${4:-100}
interval=${5:-1}; conc=${6:-0}; plugin=${7:-/usr/lib/nagios/plugins/check_tcp}
mkdir -p "$dir/checkresults"
cat > "$dir/nagios.cfg" <<CFG
log_file=$dir/nagios.log
cfg_file=$dir/objects.cfg
object_cache_file=$dir/objects.cache
precached_object_file=$dir/objects.precache
resource_file=$dir/resource.cfg
status_file=$dir/status.dat
status_update_interval=5
lock_file=$dir/nagios.lock
temp_file=$dir/nagios.tmp
temp_path=$dir
check_result_path=$dir/checkresults
query_socket=$dir/nagios.qh
nagios_user=nagios
nagios_group=nagios
check_external_commands=0
retain_state_information=0
use_syslog=0
log_notifications=0
log_service_retries=0
log_host_retries=0
log_event_handlers=0
log_initial_states=0
log_passive_checks=0
enable_notifications=0
enable_event_handlers=0
enable_flap_detection=0
process_performance_data=0
execute_host_checks=0
accept_passive_host_checks=0
execute_service_checks=1
interval_length=1
max_concurrent_checks=$conc
service_inter_check_delay_method=n
service_interleave_factor=s
max_service_check_spread=1
check_result_reaper_frequency=1
max_check_result_reaper_time=30
check_service_freshness=0
check_host_freshness=0
service_check_timeout=10
enable_environment_macros=0
CFG
echo '$USER1$=/usr/lib/nagios/plugins' > "$dir/resource.cfg"
{
  cat <<OBJ
define timeperiod {
  timeperiod_name 24x7
  alias 24x7
  sunday 00:00-24:00
  monday 00:00-24:00
  tuesday 00:00-24:00
  wednesday 00:00-24:00
  thursday 00:00-24:00
  friday 00:00-24:00
  saturday 00:00-24:00
}
define command {
  command_name bench_tcp
  command_line $plugin -H \$HOSTADDRESS\$ -p $port
}
define command {
  command_name bench_none
  command_line /bin/true
}
define contact {
  contact_name nobody
  host_notifications_enabled 0
  service_notifications_enabled 0
  host_notification_period 24x7
  service_notification_period 24x7
  host_notification_options n
  service_notification_options n
  host_notification_commands bench_none
  service_notification_commands bench_none
}
define host {
  name bench-host
  register 0
  address 127.0.0.1
  check_command bench_none
  active_checks_enabled 0
  max_check_attempts 1
  check_period 24x7
  notification_period 24x7
  notification_interval 0
  notifications_enabled 0
  contacts nobody
}
define service {
  name bench-service
  register 0
  check_command bench_tcp
  check_period 24x7
  check_interval $interval
  retry_interval $interval
  max_check_attempts 1
  notification_period 24x7
  notification_interval 0
  notifications_enabled 0
  contacts nobody
}
OBJ
  per=$(( (services + hosts - 1) / hosts )); n=0; h=0
  while [ $n -lt "$services" ]; do
    printf 'define host {\n  use bench-host\n  host_name h%d\n  alias h%d\n}\n' $h $h
    s=0
    while [ $s -lt $per ] && [ $n -lt "$services" ]; do
      printf 'define service {\n  use bench-service\n  host_name h%d\n  service_description tcp%d\n}\n' $h $s
      s=$((s + 1)); n=$((n + 1))
    done
    h=$((h + 1))
  done
} > "$dir/objects.cfg"
chown -R nagios:nagios "$dir" 2>/dev/null || true
echo "$dir/nagios.cfg: $services services on $h hosts, every ${interval}s, max_concurrent_checks=$conc"
