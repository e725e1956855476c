# Sourced by the bench_*.sh scripts: the reference's location, the tools a
# measurement needs, a scratch folder removed on exit, and the load average.
reference="$(realpath -m "${ROSETTA_REFERENCE:-../shared/reference}")"
[ -x build/rosetta ] || tools/setup.sh
# /usr/bin/time for peak memory; the reference runs on Debian's python3-torch,
# whose fp32 figures are OpenBLAS's (without it python3-torch falls back to
# netlib's reference BLAS, several times slower still).
tools/install_packages.sh time python3 python3-torch python3-sentencepiece python3-numpy libopenblas0-pthread
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
load() { cut -d' ' -f1 /proc/loadavg; }
