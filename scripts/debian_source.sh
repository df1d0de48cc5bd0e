# Sourced by scripts that need a Debian source package of the release this machine runs (bash).
# fetch_debian_source PACKAGE INSTALLED_VERSION DEST: downloads the source package (the .dsc and
# its tarballs) into DEST, trying the installed version first, then the same upstream series,
# newest first; prints the version fetched. A private deb-src list is used: the system's apt
# configuration is not changed. Fails (status 1) when nothing could be fetched.
fetch_debian_source() {
  local package=$1 installed=$2 dest=$3
  local apt_dir=${XDG_CACHE_HOME:-$HOME/.cache}/pollnotify/apt
  mkdir -p "$apt_dir/parts" "$apt_dir/lists/partial" "$dest"
  local codename
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  cat >"$apt_dir/parts/deb-src.sources" <<SOURCES
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename $codename-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: $codename-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  local apt_options=(-o "Dir::Etc::SourceList=$apt_dir/none" -o "Dir::Etc::SourceParts=$apt_dir/parts"
                     -o "Dir::State::Lists=$apt_dir/lists")
  # As root, apt's download user could not write to this private cache: download as root.
  [ "$(id -u)" -ne 0 ] || apt_options+=(-o APT::Sandbox::User=root)
  apt-get "${apt_options[@]}" update -qq
  local upstream=${installed%%-*} available candidates version
  available=$(apt-cache "${apt_options[@]}" showsrc "$package" | sed -n 's/^Version: //p' | sort -rV)
  candidates=$( (grep -xF "$installed" <<<"$available" || true; grep "^${upstream%.*}\." <<<"$available" || true) |
               awk '!seen[$0]++')
  chmod 755 "$dest"  # apt's download user writes here
  for version in $candidates; do
    if (cd "$dest" && apt-get "${apt_options[@]}" source --download-only -qq "$package=$version" \
          >/dev/null 2>&1); then
      echo "$version"
      return 0
    fi
  done
  echo "fetch_debian_source: no source of $package for $installed could be fetched" >&2
  return 1
}
