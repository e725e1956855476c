#!/usr/bin/env bash
# Proves that a fresh machine can build what this machine built: every file the
# build read from outside the checkout (headers in the compilers' dependency
# files, libraries on the link lines and loaded at run time, the CMake package
# configs and modules configure loaded, the files CMake's cache points at) must
# belong to a Debian package that tools/setup.sh installs, or to one of their
# dependencies. A file from a package installed by hand (or from no package at
# all) fails the check, naming the file and its package.
#
#   tools/check_build_deps.sh [BUILD_DIR ...]     default: build
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=$(pwd -P)
build_dirs=("$@")
((${#build_dirs[@]})) || build_dirs=(build)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. Every absolute path the build read.
for dir in "${build_dirs[@]}"; do
  [ -f "$dir/CMakeCache.txt" ] || { echo "check_build_deps: $dir is not a CMake build folder" >&2; exit 2; }
  {
    # configure: every CMake file it loaded
    grep -o '"/[^"]*"' "$dir/CMakeFiles/Makefile.cmake" | tr -d '"'
    # configure: libraries and files the cache found
    sed -n 's/^[^#/][^=]*:FILEPATH=\(\/.*\)$/\1/p' "$dir/CMakeCache.txt"
    # compile: headers (GCC's dependency files)
    find "$dir/CMakeFiles" -name '*.o.d' -exec cat {} + | tr ' \\' '\n\n' | grep '^/'
    # link: libraries named on the link lines
    find "$dir/CMakeFiles" -name link.txt -exec cat {} + | tr ' ' '\n' | grep '^/'
    # run: shared libraries the executables load
    find "$dir" -maxdepth 1 -type f -executable -exec ldd {} + 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p'
  } >> "$work/paths.raw"
done
sort -u "$work/paths.raw" | while IFS= read -r path; do
  case "$path" in "$source_dir"/*) continue ;; esac
  [ -f "$path" ] || continue
  for dir in "${build_dirs[@]}"; do case "$path" in "$(cd "$dir" && pwd -P)"/*) continue 2 ;; esac; done
  # The path as written (without ..) and, when that is a symlink, the file it names.
  printf '%s\t%s\n' "$(realpath -s "$path")" "$(realpath "$path")"
done > "$work/paths"

# 2. Which installed package owns each file (usr-merge: /lib is /usr/lib).
normalise='{ sub(/^\/(lib|lib64|bin|sbin)\//, "/usr/&"); sub(/^\/usr\/\//, "/usr/") }'
for list in /var/lib/dpkg/info/*.list; do
  package=$(basename "$list" .list)
  awk -v p="${package%%:*}" "$normalise"'{ print $0 "\t" p }' "$list"
done > "$work/owners"

# 3. The packages setup.sh installs and everything they depend on, as installed here.
dpkg-query -W -f='${db:Status-Abbrev}\t${Package}\t${Provides}\t${Pre-Depends}, ${Depends}\n' > "$work/installed"
tools/setup.sh --print-packages | tr ' ' '\n' | grep . > "$work/wanted"
awk -F'\t' '
  FNR == NR { queue[++tail] = $1; next }
  $1 !~ /^ii/ { next }
  {
    deps[$2] = $4
    n = split($3, provided, /, */)
    for (i = 1; i <= n; ++i) { sub(/ .*/, "", provided[i]); if (provided[i] != "") providers[provided[i]] = providers[provided[i]] " " $2 }
    installed[$2] = 1
  }
  END {
    for (head = 1; head <= tail; ++head) {
      name = queue[head]; sub(/:.*/, "", name)
      if (name in seen) continue
      seen[name] = 1
      if (name in installed) print name
      m = split(providers[name], via, " ")
      for (i = 1; i <= m; ++i) queue[++tail] = via[i]
      n = split(deps[name], alternatives, /[,|] */)
      for (i = 1; i <= n; ++i) { dep = alternatives[i]; sub(/^ +/, "", dep); sub(/[ (].*/, "", dep); if (dep != "") queue[++tail] = dep }
    }
  }' "$work/wanted" "$work/installed" | sort -u > "$work/allowed"

# 4. Judge each file.
awk -F'\t' '
  FILENAME == ARGV[1] { allowed[$1] = 1; next }
  FILENAME == ARGV[2] { owners[$1] = owners[$1] " " $2; next }
  function norm(p) { sub(/^\/(lib|lib64|bin|sbin)\//, "/usr/&", p); sub(/^\/usr\/\//, "/usr/", p); return p }
  {
    file = norm($1); target = norm($2)
    who = owners[file]; if (who == "") who = owners[target]
    if (who == "") { print "  " $1 ": belongs to no Debian package (installed by hand?)" > "/dev/stderr"; bad = 1; next }
    n = split(who, names, " "); ok = 0
    for (i = 1; i <= n; ++i) if (names[i] in allowed) ok = 1
    if (!ok) { missing[names[1]] = 1; print "  " $1 ": from package " names[1] ", which tools/setup.sh does not install" > "/dev/stderr"; bad = 1 }
    ++checked
  }
  END {
    if (bad) {
      list = ""; for (p in missing) list = list " " p
      print "check_build_deps: the build read files a fresh machine would not have." > "/dev/stderr"
      if (list != "") print "check_build_deps: add to tools/setup.sh:" list > "/dev/stderr"
      exit 1
    }
    print "check_build_deps: " checked " files from outside the checkout, all from packages tools/setup.sh installs"
  }' "$work/allowed" "$work/owners" "$work/paths"
