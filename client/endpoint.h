/* endpoint — which base URLs ncffs will talk to. Pure. */
#ifndef NCFFS_ENDPOINT_H
#define NCFFS_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

/* https:// anywhere; http:// only to a loopback host (tests, the demo).
 * On false, why gets a one-line reason. */
bool ncf_endpoint_is_allowed(const char *url, char *why, size_t why_size);

/* The default base URL for a region (kr, sg, jp) and API generation
 * (v2, v2.1); NULL for an unknown one. Static storage. */
const char *ncf_endpoint_default(const char *region, const char *api);

/* The default platform: "vpc" in Singapore and Japan (VPC-only regions)
 * and on v2.1, else "classic". region may be NULL (Korea). */
const char *ncf_platform_default(const char *region, const char *api);

#endif
