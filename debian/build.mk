# debian/: the Debian packages (docs/packaging.md). `make deb` builds them
# into $(BUILD)/deb (scripts/deb.sh: a copy of the tree, dpkg-buildpackage,
# lintian); `make check-deb` installs, uses and purges them in a throwaway
# Debian root (tests/deb/install.sh, as root: chroot and mounts).
DEB_DIR := $(BUILD)/deb

.PHONY: deb check-deb
deb: | $(DEPS_STAMP)
	@scripts/deb.sh $(DEB_DIR)

check-deb: deb
	@tests/deb/install.sh $(DEB_DIR) $(BUILD)/deb-test

CHECKS += check-deb
