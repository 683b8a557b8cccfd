# browser.sh - what the dashboard's browser test needs, for scripts/test
# and CI: Debian's chromium (the test never downloads a browser) and
# playwright-core from tests/e2e/dashboard/package-lock.json. Source it
# after common.sh; then call cf_install_browser.

# Installs chromium with apt-get when it is missing (as root, or with
# password-less sudo; otherwise prints the command and stops), and runs
# npm ci in tests/e2e/dashboard when its node_modules is missing.
cf_install_browser() {
	local root=${CF_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
	local dir=$root/tests/e2e/dashboard sudo=() pkgs=()
	[ -x /usr/bin/chromium ] || pkgs+=(chromium)
	# A fresh machine may have no Node.js: Debian's will do for npm ci.
	command -v npm >/dev/null || pkgs+=(nodejs npm)
	if [ ${#pkgs[@]} -gt 0 ]; then
		if [ "$(id -u)" -ne 0 ]; then
			if ! sudo -n true 2>/dev/null; then
				echo "==> missing: ${pkgs[*]}; as root, run:" >&2
				echo "apt-get update && apt-get install -y --no-install-recommends ${pkgs[*]}" >&2
				return 1
			fi
			sudo=(sudo -n)
		fi
		echo "==> installing ${pkgs[*]}" >&2
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
			"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null ||
			return 1
	fi
	if [ ! -d "$dir/node_modules/playwright-core" ]; then
		echo "==> npm ci in $dir (playwright-core)" >&2
		(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || return 1
	fi
	return 0
}
