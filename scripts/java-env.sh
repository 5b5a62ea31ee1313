# Sourced by ./gpu-dev, ./run-tests, bench/ and .ci/run: finds a JDK 21 or newer, exports JAVA_HOME and
# sets JAVA_MAJOR. Shell builtins only on the way (no subprocess): the CLI's launcher runs it every time.

# JAVA_MAJOR of the JDK at $1: from its release file, else by asking its JVM (slow, rare).
java_major() {
  JAVA_MAJOR=""
  local line v=""
  if [ -r "$1/release" ]; then
    while IFS= read -r line; do
      case $line in JAVA_VERSION=*) v=${line#JAVA_VERSION=}; v=${v//\"/}; break ;; esac
    done < "$1/release"
  fi
  if [ -z "$v" ]; then
    v=$("$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -1)
  fi
  case $v in 1.*) v=${v#1.} ;; esac
  v=${v%%[!0-9]*}
  JAVA_MAJOR=$v
}

pick_jdk() {
  local candidate
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] && [ -x "$candidate/bin/javac" ] || continue
    java_major "$candidate"
    if [ -n "$JAVA_MAJOR" ] && [ "$JAVA_MAJOR" -ge 21 ]; then
      JAVA_HOME=$candidate
      return 0
    fi
  done
  return 1
}

if ! pick_jdk; then
  echo "gpu-dev: no JDK 21 or newer found (looked at \$JAVA_HOME and /usr/lib/jvm/*)." >&2
  echo "         Install one (e.g. Temurin 25) and set JAVA_HOME to it." >&2
  exit 2
fi
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"
