#!/bin/bash
# Installs a MediaWiki test wiki into the shared code volume.
#
# Reads /opt/install/repositories.tsv (core first, then every enabled extension, skin and
# other module) and /opt/install/patches.tsv, checks each repository out as a git worktree
# of a bare cache kept on the volume (a rebuild only fetches what changed), cherry-picks the
# Gerrit patches, runs composer and npm, and installs (or, on a rebuild, updates) the wiki.
#
# Clients follow this container's log and drive a progress bar from these lines, so they
# must keep being printed exactly: "Preparing worktree" (once per repository),
# "composer install", "apt-get install -y npm", "Installing Wiki".
set -euo pipefail

INSTALL_DIR=${INSTALL_DIR:-/opt/install}
MW_ROOT=${MW_ROOT:-/srv/mediawiki/w}
MW_CACHE=${MW_CACHE:-/srv/mediawiki/cache}
GERRIT_URL=${GERRIT_URL:-https://gerrit.wikimedia.org/r}
DB_WAIT_SECONDS=${DB_WAIT_SECONDS:-300}

export COMPOSER_ALLOW_SUPERUSER=1
export DEBIAN_FRONTEND=noninteractive
git config --global user.name "Catalyst"
git config --global user.email "catalyst@localhost"
git config --global advice.detachedHead false
git config --global --add safe.directory '*'

log() { printf '%s\n' "$*"; }

# checkout PATH PROJECT BRANCH SUBMODULES: a detached worktree of PROJECT at BRANCH in PATH.
checkout() {
	local path=$1 project=$2 branch=$3 submodules=$4
	local cache="$MW_CACHE/${project//\//_}.git"
	local dest="$MW_ROOT/$path"
	if [ -d "$cache" ]; then
		git -C "$cache" fetch --quiet --prune origin "+refs/heads/*:refs/heads/*"
	else
		git clone --quiet --bare "$GERRIT_URL/$project" "$cache"
	fi
	log "Preparing worktree ($project at $branch in $path)"
	git -C "$cache" worktree prune
	if [ "$path" = "." ]; then
		# Core's worktree is the root: keep the component directories checked out inside it.
		if [ -e "$dest/.git" ]; then
			git -C "$dest" checkout --quiet --force --detach "$branch"
			git -C "$dest" clean --quiet -fd -e extensions -e skins -e services -e LocalSettings.php -e images
		else
			mkdir -p "$(dirname "$dest")"
			git -C "$cache" worktree add --quiet --force --detach "$dest" "$branch"
		fi
	else
		rm -rf "$dest"
		mkdir -p "$(dirname "$dest")"
		git -C "$cache" worktree add --quiet --force --detach "$dest" "$branch"
	fi
	if [ "$submodules" = "true" ]; then
		git -C "$dest" submodule update --quiet --init --recursive
	fi
}

# apply_patch PATH REF: cherry-pick one Gerrit change onto the checkout at PATH.
apply_patch() {
	local path=$1 ref=$2
	local dest="$MW_ROOT/$path"
	log "Applying $ref to $path"
	# Worktrees share the bare cache's config, so "origin" is the repository's Gerrit project.
	git -C "$dest" fetch --quiet origin "$ref"
	git -C "$dest" cherry-pick --allow-empty --keep-redundant-commits FETCH_HEAD
}

wait_for_database() {
	local deadline=$((SECONDS + DB_WAIT_SECONDS))
	log "Waiting for the database at $DB_HOST"
	until php -r 'exit(@mysqli_connect(getenv("DB_HOST"), getenv("DB_USER"), getenv("DB_PASSWORD"), getenv("DB_NAME")) ? 0 : 1);'; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			log "The database did not accept connections within ${DB_WAIT_SECONDS}s"
			exit 1
		fi
		sleep 2
	done
}

mkdir -p "$MW_ROOT" "$MW_CACHE"

while IFS=$'\t' read -r path project branch _load _name submodules; do
	[ -n "$path" ] || continue
	checkout "$path" "$project" "$branch" "$submodules"
done <"$INSTALL_DIR/repositories.tsv"

while IFS=$'\t' read -r path ref; do
	[ -n "$path" ] || continue
	apply_patch "$path" "$ref"
done <"$INSTALL_DIR/patches.tsv"

log "+ apt-get update"
apt-get update -qq
if ! command -v composer >/dev/null; then
	apt-get install -y -qq composer
fi
# Components' PHP dependencies are merged into core's by the merge plugin core ships with;
# core has no composer.lock, so one `composer install` resolves everything together.
cat >"$MW_ROOT/composer.local.json" <<'JSON'
{"extra": {"merge-plugin": {"include": ["extensions/*/composer.json", "skins/*/composer.json"]}}}
JSON
log "+ composer install --no-dev"
cd "$MW_ROOT"
composer install --no-dev --no-interaction --no-progress

log "+ apt-get install -y npm"
apt-get install -y -qq npm

wait_for_database

log "Installing Wiki"
if [ -f "$MW_ROOT/LocalSettings.php" ]; then
	# A rebuild: the database already holds this wiki; bring its schema up to date.
	log "LocalSettings.php exists: updating the existing wiki"
	php maintenance/run.php update --quick
else
	# Only enabled components are checked out, so every extension and skin present is wanted:
	# --with-extensions and the installer's default (all skins found) load exactly those.
	php maintenance/run.php install \
		--dbtype mysql --dbserver "$DB_HOST" --dbname "$DB_NAME" \
		--dbuser "$DB_USER" --dbpass "$DB_PASSWORD" \
		--server "$MW_SERVER" --scriptpath "" --lang "$MW_LANGUAGE" \
		--pass "$MW_ADMIN_PASSWORD" --with-extensions \
		"$MW_SITENAME" "$MW_ADMIN_USER"
	{
		echo ''
		echo '# Added by the install Job of the mediawiki chart.'
		echo "\$wgUseInstantCommons = $MW_USE_INSTANT_COMMONS;"
		if [ "$MW_USE_TEMP_USER" = "true" ]; then
			echo "\$wgAutoCreateTempUser['enabled'] = true;"
		fi
		if [ "$MW_USE_PROXY" = "true" ]; then
			echo '$wgUsePrivateIPs = true;'
			echo "\$wgCdnServersNoPurge = [ '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16' ];"
		fi
	} >>LocalSettings.php
fi

if [ -s "$INSTALL_DIR/main-page.wikitext" ]; then
	log "Writing the Main Page"
	php maintenance/run.php edit --summary "Patch demo" "Main Page" <"$INSTALL_DIR/main-page.wikitext"
fi

if [ "$MW_BUILD_DOCS" = "true" ]; then
	log "+ npm ci && npm run doc"
	npm ci --no-audit --no-fund
	npm run doc
fi

log "Done: the wiki is installed at $MW_SERVER"
