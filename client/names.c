/* names — the API's naming rules (see names.h). Kept free of locale: the
 * rules are ASCII, and isalnum() would let other bytes through. */
#include "names.h"

#include <string.h>

#include "ncf_types.h"

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool ncf_is_valid_name(const char *name)
{
	size_t len;

	if (!name || name[0] == '\0' || name[0] == '-')
		return false;
	for (len = 0; name[len]; len++) {
		if (len >= NCF_NAME_MAX || !is_name_char(name[len]))
			return false;
	}
	return true;
}

bool ncf_is_valid_package_name(const char *name)
{
	return (name && strcmp(name, "-") == 0) || ncf_is_valid_name(name);
}

bool ncf_is_valid_activation_id(const char *id)
{
	size_t len;

	if (!id)
		return false;
	for (len = 0; id[len]; len++) {
		bool hex = (id[len] >= '0' && id[len] <= '9') ||
			   (id[len] >= 'a' && id[len] <= 'f');
		if (len >= NCF_ACTIVATION_ID_LEN || !hex)
			return false;
	}
	return len == NCF_ACTIVATION_ID_LEN;
}

/* OpenWhisk namespaces are e.g. "_", "guest", "org_space", "a@b.com_dev"
 * or DigitalOcean's "fn-<uuid>": these characters, 1 to 256 of them, never
 * anything that would need escaping in a path. */
bool ncf_is_valid_namespace(const char *ns)
{
	size_t len;

	if (!ns || ns[0] == '.')
		return false;
	for (len = 0; ns[len]; len++) {
		char ch = ns[len];
		bool ok = is_name_char(ch) || ch == '@' || ch == '.';

		if (len >= 256 || !ok)
			return false;
	}
	return len > 0;
}
