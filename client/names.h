/* names — the API's naming rules, as pure predicates. Everything that goes
 * into a request target or comes back as a path component passes here. */
#ifndef NCFFS_NAMES_H
#define NCFFS_NAMES_H

#include <stdbool.h>

/* 1-50 of [A-Za-z0-9_-], not starting with '-'. */
bool ncf_is_valid_name(const char *name);

/* A valid name, or "-" (actions outside any package). */
bool ncf_is_valid_package_name(const char *name);

/* An OpenWhisk namespace: 1-256 of [A-Za-z0-9_@.-], not starting with '.'. */
bool ncf_is_valid_namespace(const char *ns);

/* Exactly 32 lowercase hex digits. */
bool ncf_is_valid_activation_id(const char *id);

#endif
