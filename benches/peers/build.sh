#!/usr/bin/env bash
# Builds the compiled peers of benches/peers_wp.py into benches/peers/build/:
#
#   build/cvode_peer   CVODE 6.4.1 (Debian bookworm's libsundials-dev) with the C right-hand side,
#                      Jacobian and preconditioners of cvode_peer.c, compiled -O3 -march=native.
#                      Debian's libsundials_nvecserial is replaced by nvector_serial.c from the
#                      same version's Debian source package (`apt-get source sundials`), compiled
#                      -O3 -march=native into the binary (the vector kernels are where CVODE spends
#                      its vector passes), and so is SUNLinSol_LapackDense (Debian builds SUNDIALS
#                      without LAPACK), linked against ILP64 OpenBLAS (libopenblas64-dev: Debian's
#                      SUNDIALS uses 64-bit indices, which LAPACK's integer arguments must match).
#                      CVODE itself, SPGMR and the Newton solver are Debian's shared libraries.
#   diffsol/target/release/diffsol-peer
#                      the diffsol peer (its own Cargo project, not a workspace member).
#
# Needs root for apt-get (Debian bookworm); adds a deb-src entry for bookworm if none exists.
# Usage: benches/peers/build.sh [--no-apt] [--no-diffsol]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/build"
apt=1
diffsol=1
for arg in "$@"; do
  case "$arg" in
    --no-apt) apt=0 ;;
    --no-diffsol) diffsol=0 ;;
    *) echo "unknown argument $arg" >&2; exit 64 ;;
  esac
done
mkdir -p "$out"

if [ "$apt" = 1 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends libsundials-dev libopenblas64-dev dpkg-dev gcc xz-utils
fi

version="$(dpkg-query -W -f='${Version}' libsundials-dev)"   # e.g. 6.4.1+dfsg1-3
upstream="${version%%+*}"; upstream="${upstream%%-*}"          # 6.4.1
src="$out/sundials-$upstream"
if [ ! -d "$src" ]; then
  if [ "$apt" = 1 ] && ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    cat > /etc/apt/sources.list.d/peers-deb-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    apt-get update
  fi
  (cd "$out" && apt-get source --download-only "sundials=$version")
  tar -C "$out" -xf "$out"/sundials_"${version%-*}".orig.tar.xz \
    "sundials-$upstream/src/nvector/serial" "sundials-$upstream/src/sunlinsol/lapackdense" \
    "sundials-$upstream/src/sundials" "sundials-$upstream/include"
fi

CFLAGS=(-O3 -march=native -std=c11 -D_POSIX_C_SOURCE=200809L -Wall)
# Debian's sundials_config.h (installed) first, so the compiled objects match its index type.
INC=(-I/usr/include -I"$src/include" -I"$src/src/sundials")
gcc "${CFLAGS[@]}" "${INC[@]}" -c "$src/src/nvector/serial/nvector_serial.c" -o "$out/nvector_serial.o"
gcc "${CFLAGS[@]}" "${INC[@]}" '-DSUNDIALS_F77_FUNC(name,NAME)=name ## _' \
  -c "$src/src/sunlinsol/lapackdense/sunlinsol_lapackdense.c" -o "$out/sunlinsol_lapackdense.o"
gcc "${CFLAGS[@]}" -I/usr/include -I"$src/include" -c "$here/cvode_peer.c" -o "$out/cvode_peer.o"
gcc -o "$out/cvode_peer" "$out/cvode_peer.o" "$out/nvector_serial.o" "$out/sunlinsol_lapackdense.o" \
  -lsundials_cvode -lsundials_sunlinsolspgmr -lsundials_sunmatrixdense -lsundials_sunnonlinsolnewton \
  -lopenblas64 -lm
echo "built $out/cvode_peer"

if [ "$diffsol" = 1 ]; then
  (cd "$here/diffsol" && cargo build --release --locked)
  echo "built $here/diffsol/target/release/diffsol-peer"
fi
