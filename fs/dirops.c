/* dirops — see dirops.h. The only code that knows the kernel's wire
 * format (linux/fuse.h): one flag of one reply. */
#include "dirops.h"

#include <errno.h>
#include <linux/fuse.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* libfuse 3.17 translates FUSE_CAP_PARALLEL_DIROPS itself (and changed the
 * custom I/O call): no shim is built there. */
#if FUSE_VERSION < FUSE_MAKE_VERSION(3, 17)

/* The INIT reply is a header and a struct fuse_init_out, whose size
 * depends on the protocol minor both sides speak; a larger one than this
 * is left alone. */
#define INIT_OUT_MAX 256
#define REPLY_IOV_MAX 4

/* Returns the INIT reply's flags offset in iov[1], or -1 when iov is not a
 * successful reply with a flags field. */
static int flags_offset(const struct iovec *iov, int count)
{
	struct fuse_out_header out;
	size_t need = offsetof(struct fuse_init_out, flags) + sizeof(uint32_t);

	if (count < 2 || count > REPLY_IOV_MAX || iov[0].iov_len < sizeof(out))
		return -1;
	memcpy(&out, iov[0].iov_base, sizeof(out));
	if (out.error != 0 || iov[1].iov_len < need ||
	    iov[1].iov_len > INIT_OUT_MAX)
		return -1;
	return (int)offsetof(struct fuse_init_out, flags);
}

/* Writes the INIT reply with add in its flags: a copy is patched, since
 * iov points into libfuse's own frame. */
static ssize_t write_init_reply(int fd, const struct iovec *iov, int count,
				uint32_t add)
{
	unsigned char body[INIT_OUT_MAX];
	struct iovec copy[REPLY_IOV_MAX];
	int at = flags_offset(iov, count);
	uint32_t flags;

	if (at < 0)
		return writev(fd, iov, count);
	memcpy(copy, iov, (size_t)count * sizeof(*copy));
	memcpy(body, iov[1].iov_base, iov[1].iov_len);
	memcpy(&flags, body + at, sizeof(flags));
	flags |= add;
	memcpy(body + at, &flags, sizeof(flags));
	copy[1].iov_base = body;
	return writev(fd, copy, count);
}

static ssize_t write_reply(int fd, struct iovec *iov, int count, void *userdata)
{
	struct ncffs *fs = userdata;
	uint32_t add = 0;

	/* Set once, by init, for the one reply that follows it. */
	if (atomic_load_explicit(&fs->init_reply_flags, memory_order_relaxed))
		add = atomic_exchange(&fs->init_reply_flags, 0);
	return add ? write_init_reply(fd, iov, count, add)
		   : writev(fd, iov, count);
}

static ssize_t read_request(int fd, void *buf, size_t size, void *userdata)
{
	(void)userdata;
	return read(fd, buf, size);
}

int dirops_install(struct fuse_session *se, struct ncffs *fs)
{
	static const struct fuse_custom_io io = {
		.writev = write_reply,
		.read = read_request,
	};

	fs->dirops_shim = true;
	return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}

#else

int dirops_install(struct fuse_session *se, struct ncffs *fs)
{
	(void)se;
	(void)fs;
	return 0;
}

#endif

void dirops_want(struct ncffs *fs, struct fuse_conn_info *conn)
{
	if (!(conn->capable & FUSE_CAP_PARALLEL_DIROPS))
		return;
	conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (fs->dirops_shim)
		atomic_store(&fs->init_reply_flags, FUSE_PARALLEL_DIROPS);
}
