# Sourced by the bench_*.sh scripts: the reference's location, the tools a
# measurement needs, a scratch folder removed on exit, and the load average.
reference="$(realpath -m "${ROSETTA_REFERENCE:-../shared/reference}")"
[ -x build/rosetta ] || tools/setup.sh
command -v /usr/bin/time > /dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time > /dev/null
# The reference's fp32 figures are OpenBLAS's: without it python3-torch
# falls back to netlib's reference BLAS, several times slower still.
dpkg -s libopenblas0-pthread > /dev/null 2>&1 ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-pthread > /dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
load() { cut -d' ' -f1 /proc/loadavg; }
