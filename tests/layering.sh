#!/usr/bin/env bash
# Fails when a module imports a module to its right in the layering of docs/architecture.md
# (a module may use only modules listed before it).
set -euo pipefail
cd "$(dirname "$0")/.."
# rank of each module path (lower = more basic)
rank() {
  case "$1" in
    config|runtime|db) echo 0 ;;
    sip::message) echo 1 ;;
    sip::transport) echo 2 ;;
    sip::transaction) echo 3 ;;
    sip::dialog) echo 4 ;;
    sip::auth) echo 5 ;;
    sip::registrar) echo 6 ;;
    sip::endpoint) echo 7 ;;
    media|dialplan) echo 8 ;;
    switch) echo 9 ;;
    acd|dialer|cdr|cel) echo 10 ;;
    web) echo 11 ;;
    server) echo 12 ;;
    *) echo "" ;;
  esac
}
module_of_file() { # src/sip/message/uri.rs -> sip::message
  local p=${1#src/}; p=${p%.rs}; p=${p%/mod}
  IFS=/ read -r a b _ <<<"$p"
  if [ "$a" = sip ] && [ -n "${b:-}" ]; then echo "sip::$b"; else echo "$a"; fi
}
module_of_use() { # sip::message::Uri -> sip::message
  local p=$1
  IFS=: read -r a _ b _ <<<"$p"
  if [ "$a" = sip ] && [ -n "${b:-}" ]; then echo "sip::$b"; else echo "$a"; fi
}
fail=0
while IFS= read -r file; do
  from=$(module_of_file "$file"); rf=$(rank "$from")
  [ -n "$rf" ] || continue
  while IFS= read -r target; do
    to=$(module_of_use "$target"); rt=$(rank "$to")
    [ -n "$rt" ] || continue
    if [ "$to" != "$from" ] && [ "$rt" -gt "$rf" ]; then
      echo "layering: $file ($from) uses crate::$target ($to is above it)"; fail=1
    fi
  done < <(grep -oE 'crate::[a-z_]+(::[a-z_]+)?' "$file" | sed 's/^crate:://' | sort -u)
done < <(find src -name '*.rs' ! -name main.rs ! -name lib.rs)
[ "$fail" = 0 ] && echo "layering OK"
exit "$fail"
