/* errmap — foreign errors to errno, in exactly one switch each. */
#include "errmap.h"

#include <errno.h>
#include <string.h>

#include <curl/curl.h>

int ncf_errno_from_http(long http_status, const char *ncp_code)
{
	if (http_status >= 200 && http_status < 300)
		return 0;
	switch (http_status) {
	case 400:
		/* A package asked for on the wrong platform does not exist
		 * as far as this mount is concerned. */
		if (ncp_code && strcmp(ncp_code, "80102") == 0)
			return -ENOENT;
		return -EINVAL;
	case 401:
	case 403:
		return -EACCES;
	case 404:
	case 410:
		return -ENOENT;
	case 413:
		return -EFBIG;
	case 429:
		/* Not EAGAIN: tree walkers (grep -r, find) skip an entry that
		 * fails with it without a word. A 429 reaches a caller only
		 * after throttle_wait, when the mount gives up on it. */
		return -EIO;
	case 504:
		return -ETIMEDOUT;
	default:
		return -EIO;
	}
}

int ncf_errno_from_curl(int curl_code)
{
	switch ((CURLcode)curl_code) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_WRITE_ERROR: /* our write callback refused: body too big */
		return -EFBIG;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_ABORTED_BY_CALLBACK: /* ncf_client_cancel */
		return -ECANCELED;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:
		/* Not EACCES: that means "credentials rejected" to callers. */
		return -EPROTO;
	default:
		return -EIO;
	}
}

bool ncf_is_retryable(long http_status, int curl_code)
{
	switch ((CURLcode)curl_code) {
	case CURLE_OK:
		break;
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_COULDNT_CONNECT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
	return http_status == 429 || http_status == 500 ||
	       http_status == 502 || http_status == 503 || http_status == 504;
}
